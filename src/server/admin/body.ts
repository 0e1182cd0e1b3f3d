import type { Context } from 'hono';
import { InputError } from '../../errors.ts';

/**
 * The JSON body of a write request. Requiring `application/json` also shuts out cross-site form
 * posts: a browser cannot send that content type cross-origin without a CORS preflight we never allow.
 */
export async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new InputError('send a JSON body with Content-Type: application/json');
  try {
    return await c.req.json();
  } catch {
    throw new InputError('the body is not valid JSON');
  }
}
