import type { Context } from 'hono';
import { InputError } from '../../errors.ts';

/**
 * Requires `Content-Type: application/json` on a write request, whether it has a body or not. The
 * media type must be exactly application/json (parameters such as charset allowed): a form or
 * text/plain post is what a cross-site page can send without a CORS preflight, and lookalikes
 * such as application/json-seq or application/jsonp are not JSON.
 */
export function requireJsonType(c: Context): void {
  const [type = ''] = (c.req.header('content-type') ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') {
    throw new InputError('send Content-Type: application/json (even with an empty body)');
  }
}

/**
 * The JSON body of a write request (see requireJsonType). With `optional`, an empty body reads as
 * `{}` (a sync trigger with the job's defaults), still with the JSON content type.
 */
export async function jsonBody(c: Context, options: { optional?: boolean } = {}): Promise<unknown> {
  requireJsonType(c);
  const text = await c.req.text();
  if (options.optional && text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError('the body is not valid JSON');
  }
}
