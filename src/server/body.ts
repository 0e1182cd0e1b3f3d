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
import { errorFamily, InputError } from '../errors.ts';

export class PayloadTooLargeError extends errorFamily(413, false, 'payload_too_large') {}

/** A web body (tests through `app.request`, other runtimes), capped as it arrives. */
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

/**
 * The Node request, read with plain 'data'/'end' listeners: a push is one small chunk, and an
 * async iterator (a generator and a promise per chunk) costs more than the read itself. When the
 * cap is crossed, reading stops and the stream is paused: @hono/node-server drains (or, past its
 * own limits, closes) an unread request body once the 413 has been sent, so the client reads it.
 */
function collectIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        done();
        incoming.pause();
        reject(new PayloadTooLargeError(`body larger than ${maxBytes} bytes`));
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size));
    };
    // The client went away before the end (an aborted or broken upload): its problem, not a 500.
    const onError = () => {
      done();
      reject(new InputError('the request body was cut off'));
    };
    const onClose = () => {
      done();
      reject(new InputError('request closed before its body ended'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = Number(c.req.header('content-length'));
  if (declared > maxBytes) throw new PayloadTooLargeError(`body larger than ${maxBytes} bytes`);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  // An already consumed request has nothing left to give (as a `for await` over it would find).
  if (incoming) return incoming.readableEnded ? Buffer.alloc(0) : collectIncoming(incoming, maxBytes);
  const body = c.req.raw.body;
  return body ? collect(body, maxBytes) : Buffer.alloc(0);
}
