/** One user, as WeChat has them now and as wxsync stored them. */
import { isBlacklisted } from '../db/blacklist.ts';
import { findFollower, type UpsertResult, upsertFollowers } from '../db/followers.ts';
import type { Follower } from '../generated/prisma/client.ts';
import { WeChatError } from '../wechat/errors.ts';
import type { UserInfo } from '../wechat/schemas.ts';
import { getUserInfo } from '../wechat/users.ts';
import type { OpsDeps } from './deps.ts';
import { parseInput, UserLookup, UserRefresh } from './inputs.ts';

/** A stored follower as JSON can carry it (qr_scene is a BIGINT). */
export type StoredFollower = Omit<Follower, 'qrScene'> & { qrScene: string | null };

export interface UserLookupResult {
  openid: string;
  lang: string;
  /** WeChat's answer, or null when WeChat refused (see live_error). */
  live: UserInfo | null;
  live_error?: { code: string; errcode?: number; message: string };
  /** The `followers` row, or null when wxsync never stored this openid. */
  stored: StoredFollower | null;
  /** Whether this openid is on the stored blacklist now. */
  blacklisted: boolean;
}

/**
 * Both sides even when WeChat refuses (invalid openid 40003, quota...): the stored row is still
 * worth seeing, and WeChat's errcode/errmsg is shown as it came. Non-WeChat failures (Redis,
 * PostgreSQL down) are thrown.
 */
export async function lookupUser(
  deps: Pick<OpsDeps, 'db' | 'wechat'>,
  input: unknown,
): Promise<UserLookupResult> {
  const { openid, lang } = parseInput(UserLookup, input);
  const [live, stored, listed] = await Promise.all([
    getUserInfo(deps.wechat, openid, lang).then(
      (info) => ({ info }),
      (error: unknown) => {
        if (!(error instanceof WeChatError)) throw error;
        const errcode = 'errcode' in error && typeof error.errcode === 'number' ? error.errcode : undefined;
        return { error: { code: error.code, errcode, message: error.message } };
      },
    ),
    findFollower(deps.db, openid),
    isBlacklisted(deps.db, openid),
  ]);
  return {
    openid,
    lang,
    live: 'info' in live ? live.info : null,
    ...('error' in live ? { live_error: live.error } : {}),
    stored: toStored(stored),
    blacklisted: listed,
  };
}

/** A stored follower as JSON carries it. */
const toStored = (row: Follower | null): StoredFollower | null =>
  row ? { ...row, qrScene: row.qrScene === null ? null : String(row.qrScene) } : null;

export interface UserRefreshResult {
  openid: string;
  /** WeChat's answer (user/info, zh_CN like the syncs). */
  live: UserInfo;
  /** What storing it did: inserted, changed (a new follower_history period) or unchanged. */
  result: UpsertResult;
  stored: StoredFollower | null;
}

/**
 * Stores one user as WeChat has them now, without waiting for the nightly sync: for an operator who
 * just edited a remark or tags in WeChat's console. The write is recorded as the admin action
 * `user_refresh` (follower_history opened_by/closed_by = admin). WeChat's refusals (40003 for a
 * foreign openid...) are thrown and mapped like every other WeChat error.
 */
export async function refreshUser(
  deps: Pick<OpsDeps, 'db' | 'wechat' | 'log'>,
  input: unknown,
): Promise<UserRefreshResult> {
  const { openid } = parseInput(UserRefresh, input);
  const askedAt = new Date();
  const live = await getUserInfo(deps.wechat, openid);
  const result = await upsertFollowers(deps.db, [live], {
    syncedAt: new Date(),
    fetchedAt: askedAt,
    writer: { kind: 'admin', action: 'user_refresh' },
  });
  deps.log.info({ action: 'user_refresh', ...result }, 'user refreshed from WeChat');
  return { openid, live, result, stored: toStored(await findFollower(deps.db, openid)) };
}
