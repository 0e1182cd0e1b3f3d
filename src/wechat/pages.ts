/** The openid paging rule shared by user/get and getblacklist. */
import type { OpenidPage as WireOpenidPage } from './schemas.ts';

/** One page of openids as the iterators yield it. */
export interface OpenidPage {
  openids: string[];
  /** Cursor for the next call ('' when WeChat gave none). */
  nextOpenid: string;
  /** Total WeChat reports for the whole list (informational: the list can change while paging). */
  total: number;
}

/**
 * Follows `next_openid` until an EMPTY page (count 0 / no data). Never stops on a page-size guess:
 * page sizes differ between endpoints and documentation versions (getblacklist: 1,000 or 10,000),
 * and some docs show a non-empty next_openid on the last page. Also stops when WeChat gives no
 * cursor or repeats the one we sent, since calling again with it would restart or loop.
 */
export async function* iterateOpenidPages(
  fetchPage: (cursor: string) => Promise<WireOpenidPage>,
  start = '',
): AsyncGenerator<OpenidPage, void, undefined> {
  let cursor = start;
  for (;;) {
    const page = await fetchPage(cursor);
    const openids = page.data?.openid ?? [];
    if (page.count === 0 || openids.length === 0) return;
    yield { openids, nextOpenid: page.next_openid, total: page.total };
    if (page.next_openid === '' || page.next_openid === cursor) return;
    cursor = page.next_openid;
  }
}
