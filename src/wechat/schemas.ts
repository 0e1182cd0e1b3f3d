/**
 * Wire shapes of every WeChat endpoint wxsync calls, as zod schemas: the client parses responses
 * with them at the boundary, the fake platform builds its answers from the same types. One source:
 * never hand-copy these shapes elsewhere (use z.infer).
 *
 * Ids (openid, unionid, sett_no, slot_id) stay strings. Money is integer fen. Fields WeChat stopped
 * filling in 2021 (nickname, headimgurl, sex, city...) are optional: store what comes.
 */
import { z } from 'zod';

/** `{errcode, errmsg}`: WeChat's error envelope (errcode 0 = ok on write endpoints). */
export const ErrorEnvelope = z.object({ errcode: z.number().int(), errmsg: z.string().default('') });
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** An openid as WeChat issues them: 28 characters of [A-Za-z0-9_-] (we accept 6-64 to stay lenient). */
export const Openid = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'not an openid');
export const Lang = z.enum(['zh_CN', 'zh_TW', 'en']);
/** YYYY-MM-DD */
export const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');

// GET /cgi-bin/token
export const TokenResponse = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().int(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

// GET /cgi-bin/get_api_domain_ip
export const ApiDomainIpResponse = z.object({ ip_list: z.array(z.string()) });
export type ApiDomainIpResponse = z.infer<typeof ApiDomainIpResponse>;

// POST /cgi-bin/shorturl
export const ShortUrlResponse = z.object({ short_url: z.string() });
export type ShortUrlResponse = z.infer<typeof ShortUrlResponse>;

// GET /cgi-bin/user/info and each entry of user/info/batchget
export const UserInfo = z.object({
  subscribe: z.union([z.literal(0), z.literal(1)]),
  openid: z.string(),
  unionid: z.string().optional(),
  nickname: z.string().optional(),
  sex: z.number().int().optional(),
  language: z.string().optional(),
  city: z.string().optional(),
  province: z.string().optional(),
  country: z.string().optional(),
  headimgurl: z.string().optional(),
  /** Unix seconds. */
  subscribe_time: z.number().int().optional(),
  remark: z.string().optional(),
  groupid: z.number().int().optional(),
  tagid_list: z.array(z.number().int()).optional(),
  subscribe_scene: z.string().optional(),
  qr_scene: z.number().int().optional(),
  qr_scene_str: z.string().optional(),
});
export type UserInfo = z.infer<typeof UserInfo>;

// POST /cgi-bin/user/info/batchget (at most 100 users per call)
export const BATCHGET_MAX = 100;
export const BatchGetRequest = z.object({
  user_list: z.array(z.object({ openid: z.string(), lang: Lang.optional() })).min(1),
});
export type BatchGetRequest = z.infer<typeof BatchGetRequest>;
export const BatchGetResponse = z.object({ user_info_list: z.array(UserInfo) });
export type BatchGetResponse = z.infer<typeof BatchGetResponse>;

/**
 * GET /cgi-bin/user/get and POST /cgi-bin/tags/members/getblacklist: one page of openids.
 * The last page has count 0 and no `data`; its next_openid may be empty or not.
 */
export const OpenidPage = z.object({
  total: z.number().int(),
  count: z.number().int(),
  data: z.object({ openid: z.array(z.string()) }).optional(),
  next_openid: z.string().default(''),
});
export type OpenidPage = z.infer<typeof OpenidPage>;
// GET /cgi-bin/tags/get: every tag of the account (id 2 is the built-in 星标组), count = users carrying it.
export const Tag = z.object({ id: z.number().int(), name: z.string(), count: z.number().int().default(0) });
export type Tag = z.infer<typeof Tag>;
export const TagsResponse = z.object({ tags: z.array(Tag) });
export type TagsResponse = z.infer<typeof TagsResponse>;

/** Openids in one user/get page (the follower sync plans its calls with it). */
export const USER_GET_PAGE_SIZE = 10_000;
export const GetBlacklistRequest = z.object({ begin_openid: z.string().default('') });

// POST /cgi-bin/tags/members/batchblacklist | batchunblacklist (at most 20 openids per call)
export const BLACKLIST_WRITE_MAX = 20;
export const OpenidListRequest = z.object({ openid_list: z.array(z.string()).min(1) });
export type OpenidListRequest = z.infer<typeof OpenidListRequest>;

// POST /datacube/getusersummary | getusercumulate (at most 7 days, end_date <= yesterday)
export const DATACUBE_MAX_DAYS = 7;
export const DateRangeRequest = z.object({ begin_date: IsoDate, end_date: IsoDate });
export type DateRangeRequest = z.infer<typeof DateRangeRequest>;
export const UserSummaryRow = z.object({
  ref_date: IsoDate,
  user_source: z.number().int(),
  new_user: z.number().int(),
  cancel_user: z.number().int(),
});
export type UserSummaryRow = z.infer<typeof UserSummaryRow>;
export const UserSummaryResponse = z.object({ list: z.array(UserSummaryRow) });
export const UserCumulateRow = z.object({ ref_date: IsoDate, cumulate_user: z.number().int() });
export type UserCumulateRow = z.infer<typeof UserCumulateRow>;
export const UserCumulateResponse = z.object({ list: z.array(UserCumulateRow) });

// GET /publisher/stat?action=... : errors come as base_resp.ret != 0, not errcode.
export const PUBLISHER_PAGE_SIZE_MAX = 90;
export const PublisherStatQuery = z.object({
  action: z.enum(['publisher_cps_general', 'publisher_settlement']),
  page: z.coerce.number().int().min(1),
  page_size: z.coerce.number().int().min(1).max(PUBLISHER_PAGE_SIZE_MAX),
  start_date: IsoDate,
  end_date: IsoDate,
});
export type PublisherStatQuery = z.infer<typeof PublisherStatQuery>;
export const BaseResp = z.object({ ret: z.number().int(), err_msg: z.string().default('') });
const CpsFigures = z.object({
  exposure_count: z.number().int(),
  click_count: z.number().int(),
  click_rate: z.number(),
  order_count: z.number().int(),
  order_rate: z.number(),
  total_fee: z.number().int(),
  total_commission: z.number().int(),
});
export const CpsDailyRow = CpsFigures.extend({ date: IsoDate });
export type CpsDailyRow = z.infer<typeof CpsDailyRow>;
export const CpsGeneralResponse = z.object({
  base_resp: BaseResp,
  list: z.array(CpsDailyRow).default([]),
  summary: CpsFigures.optional(),
  total_num: z.number().int().default(0),
});
export type CpsGeneralResponse = z.infer<typeof CpsGeneralResponse>;
export const SlotRevenue = z.object({ slot_id: z.string(), slot_settled_revenue: z.number().int() });
export const SettlementEntry = z.object({
  date: IsoDate,
  zone: z.string(),
  month: z.string(),
  order: z.number().int(),
  sett_status: z.number().int(),
  settled_revenue: z.number().int(),
  sett_no: z.string(),
  /** A string in WeChat's sample ("0"). */
  mail_send_cnt: z.union([z.string(), z.number()]),
  slot_revenue: z.array(SlotRevenue).default([]),
});
export type SettlementEntry = z.infer<typeof SettlementEntry>;
export const SettlementResponse = z.object({
  base_resp: BaseResp,
  body: z.string().default(''),
  penalty_all: z.number().int().default(0),
  revenue_all: z.number().int().default(0),
  settled_revenue_all: z.number().int().default(0),
  settlement_list: z.array(SettlementEntry).default([]),
  total_num: z.number().int().default(0),
});
export type SettlementResponse = z.infer<typeof SettlementResponse>;

// POST /cgi-bin/stable_token (JSON body; same answer shape as /cgi-bin/token)
export const StableTokenRequest = z.object({
  grant_type: z.literal('client_credential'),
  appid: z.string(),
  secret: z.string(),
  force_refresh: z.boolean().optional(),
});
export type StableTokenRequest = z.infer<typeof StableTokenRequest>;

// POST /cgi-bin/openapi/quota/get | /cgi-bin/openapi/quota/clear {cgi_path}
export const CgiPathRequest = z.object({ cgi_path: z.string().min(1) });
export const QuotaGetResponse = z.object({
  quota: z.object({
    daily_limit: z.number().int(),
    used: z.number().int(),
    remain: z.number().int(),
  }),
});
export type QuotaGetResponse = z.infer<typeof QuotaGetResponse>;
// POST /cgi-bin/clear_quota {appid}
export const ClearQuotaRequest = z.object({ appid: z.string().min(1) });
