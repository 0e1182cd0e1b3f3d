/** Account utilities: WeChat's API server IPs and the (retired) short-URL service. */
import { WeChatApiError } from '../wechat/errors.ts';
import { getApiDomainIp, shortUrl } from '../wechat/platform.ts';
import type { OpsDeps } from './deps.ts';
import { LongUrl, parseInput } from './inputs.ts';

export const SHORTURL_RETIRED_NOTE =
  'WeChat retired the short-URL API (cgi-bin/shorturl) in 2021; accounts get an error for every call.';

export type ShortUrlResult =
  | { ok: true; long_url: string; short_url: string }
  /** WeChat refused: its errcode and errmsg exactly as it answered, and why that is expected. */
  | { ok: false; long_url: string; errcode: number; errmsg: string; note: string };

/**
 * Calls cgi-bin/shorturl once. WeChat's refusal is an expected answer here, not a wxsync failure,
 * so it is returned (not thrown) with WeChat's own words; the HTTP route answers it with 502 and
 * the CLI prints it and exits 1. Transport failures and Redis errors are thrown as usual.
 */
export async function shortenUrl(deps: Pick<OpsDeps, 'wechat'>, input: unknown): Promise<ShortUrlResult> {
  const { long_url } = parseInput(LongUrl, input);
  try {
    return { ok: true, long_url, short_url: await shortUrl(deps.wechat, long_url) };
  } catch (error) {
    if (!(error instanceof WeChatApiError)) throw error;
    return { ok: false, long_url, errcode: error.errcode, errmsg: error.errmsg, note: SHORTURL_RETIRED_NOTE };
  }
}

export async function apiDomainIps(deps: Pick<OpsDeps, 'wechat'>): Promise<{ ip_list: string[] }> {
  return { ip_list: await getApiDomainIp(deps.wechat) };
}
