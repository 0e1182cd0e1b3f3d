import type { Context } from 'hono';
import { InputError } from '../../errors.ts';

/**
 * The JSON body of a write request. Requiring `application/json` also shuts out cross-site form
 * posts: a browser cannot send that content type cross-origin without a CORS preflight we never
 * allow. With `optional`, an empty body reads as `{}` (a sync trigger with the job's defaults).
 */
export async function jsonBody(c: Context, options: { optional?: boolean } = {}): Promise<unknown> {
  const text = await c.req.text();
  if (options.optional && text.trim() === '') return {};
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new InputError('send a JSON body with Content-Type: application/json');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError('the body is not valid JSON');
  }
}
