/** User tags: the account's tag list with WeChat's per-tag user counts. */
import type { WeChatClient } from './client.ts';
import { type Tag, TagsResponse } from './schemas.ts';

/** GET /cgi-bin/tags/get: every tag (id 2 is the built-in 星标组) with the users carrying it. */
export async function getTags(client: WeChatClient): Promise<Tag[]> {
  return (await client.get('/cgi-bin/tags/get', {}, TagsResponse)).tags;
}
