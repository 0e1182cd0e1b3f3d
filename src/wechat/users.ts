/** Followers: one user's info, batched info (<=100 per call) and the paged openid list. */
import type { WeChatClient } from './client.ts';
import { iterateOpenidPages, type OpenidPage } from './pages.ts';
import {
  BATCHGET_MAX,
  type BatchGetRequest,
  BatchGetResponse,
  OpenidPage as OpenidPageSchema,
  UserInfo,
} from './schemas.ts';
import { chunk } from './util.ts';

export type Lang = NonNullable<BatchGetRequest['user_list'][number]['lang']>;

/** GET /cgi-bin/user/info. Unfollowed users come back as `{subscribe: 0, openid}` only. */
export function getUserInfo(client: WeChatClient, openid: string, lang: Lang = 'zh_CN'): Promise<UserInfo> {
  return client.get('/cgi-bin/user/info', { openid, lang }, UserInfo);
}

/**
 * POST /cgi-bin/user/info/batchget in chunks of at most 100, one call at a time (callers that want
 * parallelism run several batches). Returns the infos in the order of `openids`; an openid WeChat
 * left out of its answer is left out of the result (logged), never invented.
 */
export async function batchGetUserInfo(
  client: WeChatClient,
  openids: readonly string[],
  lang: Lang = 'zh_CN',
): Promise<UserInfo[]> {
  const out: UserInfo[] = [];
  for (const part of chunk(openids, BATCHGET_MAX)) {
    const answer = await client.post(
      '/cgi-bin/user/info/batchget',
      { user_list: part.map((openid) => ({ openid, lang })) },
      BatchGetResponse,
    );
    const byOpenid = new Map(answer.user_info_list.map((info) => [info.openid, info]));
    let missing = 0;
    for (const openid of part) {
      const info = byOpenid.get(openid);
      if (info) out.push(info);
      else missing += 1;
    }
    if (missing > 0) {
      client.log.warn({ endpoint: '/cgi-bin/user/info/batchget', missing }, 'batchget left openids out');
    }
  }
  return out;
}

export type FollowerPage = OpenidPage;

/**
 * Every follower openid, page by page (10,000 per page), from GET /cgi-bin/user/get following
 * next_openid until an empty page. `startOpenid` resumes after that openid.
 */
export function iterateFollowerPages(
  client: WeChatClient,
  options: { startOpenid?: string } = {},
): AsyncGenerator<FollowerPage, void, undefined> {
  return iterateOpenidPages(
    (cursor) =>
      client.get('/cgi-bin/user/get', { next_openid: cursor === '' ? undefined : cursor }, OpenidPageSchema),
    options.startOpenid ?? '',
  );
}
