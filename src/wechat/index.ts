/** The WeChat API client's public surface: import from here. */
export {
  type BlacklistWriteResult,
  blacklistUsers,
  iterateBlacklistPages,
  unblacklistUsers,
} from './blacklist.ts';
export { createWeChatClient, type Query, WeChatClient, type WeChatClientOptions } from './client.ts';
export {
  beijingDate,
  type DateWindows,
  getUserCumulate,
  getUserSummary,
  splitDateRange,
} from './datacube.ts';
export {
  ACCOUNT_WIDE_ERRCODES,
  classifyErrcode,
  ERRCODE_REASONS,
  redact,
  TOKEN_INVALID_ERRCODES,
  TRANSIENT_ERRCODES,
  WeChatApiError,
  WeChatError,
  WeChatResponseError,
  WeChatTransportError,
} from './errors.ts';
export type { OpenidPage } from './pages.ts';
export { getApiDomainIp, shortUrl } from './platform.ts';
export {
  type CpsGeneral,
  getPublisherCpsGeneral,
  getPublisherSettlement,
  type PublisherRange,
  type Settlement,
} from './publisher.ts';
export { TokenStore } from './token-store.ts';
export {
  batchGetUserInfo,
  type FollowerPage,
  getUserInfo,
  iterateFollowerPages,
  type Lang,
} from './users.ts';
