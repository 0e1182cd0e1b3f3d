/** One user, as WeChat has them now and as wxsync stored them. */
import { isBlacklisted } from '../db/blacklist.ts';
import { findFollower } from '../db/followers.ts';
import type { Follower } from '../generated/prisma/client.ts';
import { WeChatError } from '../wechat/errors.ts';
import type { UserInfo } from '../wechat/schemas.ts';
import { getUserInfo } from '../wechat/users.ts';
import type { OpsDeps } from './deps.ts';
import { parseInput, UserLookup } from './inputs.ts';

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
    stored: stored ? { ...stored, qrScene: stored.qrScene === null ? null : String(stored.qrScene) } : null,
    blacklisted: listed,
  };
}
