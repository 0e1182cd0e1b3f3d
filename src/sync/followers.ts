/**
 * The `followers` sync job's contract (handler: jobs/sync/followers.ts), in two modes:
 *
 * - `listing` (the nightly default): pages user/get, confirms every openid stored as following
 *   without fetching it again, fetches profiles (batchget) only for the openids not stored as
 *   following (new or returning followers), and flags the stored followers it did not see. On a
 *   quiet night that is ~1% of full's calls: 101 user/get + a few batchget for 1M followers.
 * - `full` (weekly, and `wxsync sync followers` by default): every profile fetched again, so edits
 *   WeChat does not announce (remarks, tags, unionid binding) reach the mirror too.
 *
 * Before a run starts its calls are estimated (planFollowerCalls) and compared with the remaining
 * daily quota (src/syn./quota.ts); `force` starts it anyway.
 */
import { z } from 'zod';
import { BATCHGET_MAX, USER_GET_PAGE_SIZE } from '../wechat/schemas.ts';
import { defineContract, Trigger } from './contract.ts';
import type { CallEstimate } from './quota.ts';

export const FOLLOWER_MODES = ['listing', 'full'] as const;
export type FollowerMode = (typeof FOLLOWER_MODES)[number];

export const FOLLOWER_COUNTERS = [
  'pages',
  'listed',
  'confirmed',
  'batchgetCalls',
  'profiles',
  'inserted',
  'changed',
  'unchanged',
  'skippedOnResume',
  'missing',
  'markedUnsubscribed',
  'tags',
  'wechatTotal',
] as const;

export const FollowersPayload = z.object({
  trigger: Trigger,
  mode: z.enum(FOLLOWER_MODES, { error: `mode must be one of ${FOLLOWER_MODES.join(', ')}` }).default('full'),
  /** Start even when the planned calls exceed the remaining daily quota. */
  force: z.boolean().default(false),
});

export const followersContract = defineContract({
  name: 'followers',
  description:
    'mirror the followers (user/get, profiles via user/info/batchget): mode listing fetches new and returning followers only, full every profile; flags those WeChat no longer lists',
  payload: FollowersPayload,
  retry: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
  options: [
    {
      key: 'mode',
      flag: '--mode <mode>',
      description: 'followers: listing (profiles of new and returning followers only) or full (default)',
    },
    {
      key: 'force',
      flag: '--force',
      description: "followers: start even if the planned calls exceed today's remaining WeChat quota",
    },
  ],
  cron: 'CRON_FOLLOWERS',
  alsoScheduled: [
    { cron: 'CRON_FOLLOWERS_FULL', tag: 'full', payload: () => ({ trigger: 'schedule', mode: 'full' }) },
  ],
  counters: FOLLOWER_COUNTERS,
  rowCounters: ['inserted', 'changed', 'unchanged', 'markedUnsubscribed'],
  resolve: (payload) => ({ mode: payload.mode }),
  requestFlags: (payload) => (payload.force ? { force: true } : {}),
  scheduledPayload: () => ({ trigger: 'schedule', mode: 'listing' }),
});

export interface FollowerPlanInput {
  mode: FollowerMode;
  /** WeChat's follower total as last seen (the last run's wechatTotal), else the stored followers. */
  total: number;
  /** Followers stored as following now. */
  storedSubscribed: number;
  /** A resumed run: pages and batchget calls already done. */
  pagesDone?: number;
  batchesDone?: number;
}

/**
 * The calls a follower run will make: user/get pages of 10,000 plus the final empty page, and
 * batchget calls of 100 for every follower (full) or for the followers not stored yet (listing:
 * the growth since the stored count; returning followers are not known before listing, so this is
 * a floor). A resumed run counts what it has left.
 */
export function planFollowerCalls(input: FollowerPlanInput): CallEstimate[] {
  const pages = Math.ceil(input.total / USER_GET_PAGE_SIZE) + 1;
  const userGet = Math.max(1, pages - (input.pagesDone ?? 0));
  const toFetch = input.mode === 'full' ? input.total : Math.max(0, input.total - input.storedSubscribed);
  const batches = Math.max(0, Math.ceil(toFetch / BATCHGET_MAX) - (input.batchesDone ?? 0));
  return [
    {
      path: '/cgi-bin/user/get',
      calls: userGet,
      why: `${input.total} followers in pages of ${USER_GET_PAGE_SIZE}, plus the final empty page`,
    },
    {
      path: '/cgi-bin/user/info/batchget',
      calls: batches,
      why:
        input.mode === 'full'
          ? `every profile, ${BATCHGET_MAX} a call`
          : `followers not stored yet (${toFetch}), ${BATCHGET_MAX} a call`,
    },
  ];
}
