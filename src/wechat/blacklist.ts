/** The account's blacklist: paged reads and chunked (<=20) writes. */
import type { WeChatClient } from './client.ts';
import { ACCOUNT_WIDE_ERRCODES, WeChatApiError, WeChatError } from './errors.ts';
import { iterateOpenidPages, type OpenidPage } from './pages.ts';
import { BLACKLIST_WRITE_MAX, ErrorEnvelope, OpenidPage as OpenidPageSchema } from './schemas.ts';
import { chunk } from './util.ts';

/**
 * Blacklisted openids page by page from POST /cgi-bin/tags/members/getblacklist. Page size is
 * whatever the server returns (1,000 in the current doc, 10,000 in older ones): paging stops on an
 * empty page only.
 */
export function iterateBlacklistPages(
  client: WeChatClient,
  options: { beginOpenid?: string } = {},
): AsyncGenerator<OpenidPage, void, undefined> {
  return iterateOpenidPages(
    (cursor) => client.post('/cgi-bin/tags/members/getblacklist', { begin_openid: cursor }, OpenidPageSchema),
    options.beginOpenid ?? '',
  );
}

export interface BlacklistWriteResult {
  openid: string;
  ok: boolean;
  /** WeChat's errcode when its call failed with one (49003: openid not of this appid...). */
  errcode?: number;
  errmsg?: string;
}

/** POST batchblacklist, 20 openids per call; one result per openid. */
export function blacklistUsers(
  client: WeChatClient,
  openids: readonly string[],
): Promise<BlacklistWriteResult[]> {
  return writeInChunks(client, '/cgi-bin/tags/members/batchblacklist', openids);
}

/** POST batchunblacklist, 20 openids per call; one result per openid. */
export function unblacklistUsers(
  client: WeChatClient,
  openids: readonly string[],
): Promise<BlacklistWriteResult[]> {
  return writeInChunks(client, '/cgi-bin/tags/members/batchunblacklist', openids);
}

/**
 * A failing chunk does not abort the others: its openids are reported with the error and the next
 * chunk is tried. Exception: an account-wide failure (daily quota, IP whitelist, bad credentials,
 * API not authorised) would fail every later chunk the same way, so the rest are reported with that
 * error without spending calls. Non-WeChat errors (Redis down) are thrown.
 */
async function writeInChunks(
  client: WeChatClient,
  path: string,
  openids: readonly string[],
): Promise<BlacklistWriteResult[]> {
  const results: BlacklistWriteResult[] = [];
  let accountWide: WeChatApiError | undefined;
  for (const part of chunk(openids, BLACKLIST_WRITE_MAX)) {
    if (accountWide) {
      for (const openid of part) results.push(failed(openid, accountWide));
      continue;
    }
    try {
      await client.post(path, { openid_list: part }, ErrorEnvelope);
      for (const openid of part) results.push({ openid, ok: true });
    } catch (error) {
      if (!(error instanceof WeChatError)) throw error;
      if (error instanceof WeChatApiError && ACCOUNT_WIDE_ERRCODES.has(error.errcode)) accountWide = error;
      for (const openid of part) results.push(failed(openid, error));
    }
  }
  return results;
}

function failed(openid: string, error: Error): BlacklistWriteResult {
  return error instanceof WeChatApiError
    ? { openid, ok: false, errcode: error.errcode, errmsg: error.errmsg }
    : { openid, ok: false, errmsg: error.message };
}
