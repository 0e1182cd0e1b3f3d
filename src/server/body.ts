/**
 * Reading a request body with a size cap, without building a web stream around it.
 *
 * Hono's bodyLimit middleware (and `c.req.raw.body`) makes @hono/node-server materialise a full
 * undici Request and a ReadableStream for every push: a fifth of /wx's CPU under load. On Node we
 * read the IncomingMessage directly; elsewhere (tests through `app.request`) the web body.
 * Chunked bodies are capped as they arrive, so no Content-Length is trusted.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { WxsyncError } from '../errors.ts';

export class PayloadTooLargeError extends WxsyncError {
  readonly status = 413;
  readonly retryable = false;
  readonly code = 'payload_too_large';
}

async function collect(chunks: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new PayloadTooLargeError(`body larger than ${maxBytes} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = Number(c.req.header('content-length'));
  if (declared > maxBytes) throw new PayloadTooLargeError(`body larger than ${maxBytes} bytes`);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return collect(incoming, maxBytes);
  const body = c.req.raw.body;
  return body ? collect(body, maxBytes) : Buffer.alloc(0);
}
