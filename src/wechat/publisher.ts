/**
 * publisher/stat (流量主 revenue): CPS product figures and settlements. Paged by `page` (from 1) and
 * `page_size` (<= 90); errors come as base_resp.ret != 0, which the client maps to WeChatApiError.
 * Money is integer fen.
 */
import type { WeChatClient } from './client.ts';
import {
  CpsGeneralResponse,
  PUBLISHER_PAGE_SIZE_MAX,
  type PublisherStatQuery,
  SettlementResponse,
} from './schemas.ts';

export interface PublisherRange {
  /** YYYY-MM-DD */
  startDate: string;
  /** YYYY-MM-DD */
  endDate: string;
  /** Rows per call, at most 90 (the default). */
  pageSize?: number;
}

/** Every page combined: `list` holds all rows, `summary` is WeChat's (from the first page). */
export type CpsGeneral = Omit<CpsGeneralResponse, 'base_resp'>;
/** Every page combined: `settlement_list` holds all entries, totals from the first page. */
export type Settlement = Omit<SettlementResponse, 'base_resp'>;

/** Safety stop if a server kept answering non-empty pages forever. */
const MAX_PAGES = 10_000;

/**
 * Fetches pages 1, 2, ... until `total_num` rows are read or a page comes back empty, and returns
 * the first page's answer with every page's rows concatenated into `listKey`.
 */
async function fetchAllPages<R extends { total_num: number }, K extends keyof R>(
  client: WeChatClient,
  action: PublisherStatQuery['action'],
  range: PublisherRange,
  fetch: (query: PublisherStatQuery) => Promise<R>,
  listKey: K,
): Promise<R> {
  const pageSize = Math.min(Math.max(1, range.pageSize ?? PUBLISHER_PAGE_SIZE_MAX), PUBLISHER_PAGE_SIZE_MAX);
  let first: R | undefined;
  const rows: unknown[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const answer = await fetch({
      action,
      page,
      page_size: pageSize,
      start_date: range.startDate,
      end_date: range.endDate,
    });
    first ??= answer;
    const pageRows = answer[listKey] as unknown[];
    rows.push(...pageRows);
    // total_num is the stop rule; should WeChat omit it (0), a short page is the last one.
    const done = answer.total_num > 0 ? rows.length >= answer.total_num : pageRows.length < pageSize;
    if (pageRows.length === 0 || done) break;
  }
  if (!first) throw new Error('unreachable: no publisher page fetched');
  client.log.debug({ action, rows: rows.length }, 'publisher/stat pages read');
  return { ...first, [listKey]: rows } as R;
}

/** publisher/stat?action=publisher_cps_general over [startDate, endDate], every page. */
export async function getPublisherCpsGeneral(
  client: WeChatClient,
  range: PublisherRange,
): Promise<CpsGeneral> {
  const { base_resp: _, ...rest } = await fetchAllPages<CpsGeneralResponse, 'list'>(
    client,
    'publisher_cps_general',
    range,
    (query) => client.get('/publisher/stat', query, CpsGeneralResponse),
    'list',
  );
  return rest;
}

/** publisher/stat?action=publisher_settlement over [startDate, endDate], every page. */
export async function getPublisherSettlement(
  client: WeChatClient,
  range: PublisherRange,
): Promise<Settlement> {
  const { base_resp: _, ...rest } = await fetchAllPages<SettlementResponse, 'settlement_list'>(
    client,
    'publisher_settlement',
    range,
    (query) => client.get('/publisher/stat', query, SettlementResponse),
    'settlement_list',
  );
  return rest;
}
