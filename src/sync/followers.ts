/** The `followers` sync job's contract (handler: jobs/sync/followers.ts). */
import { z } from 'zod';
import { defineContract, scheduledPlain, Trigger } from './contract.ts';

export const FOLLOWER_COUNTERS = [
  'pages',
  'listed',
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

export const followersContract = defineContract({
  name: 'followers',
  description:
    'mirror every follower profile (user/get + user/info/batchget); flag those WeChat no longer lists',
  payload: z.object({ trigger: Trigger }),
  retry: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
  cron: 'CRON_FOLLOWERS',
  counters: FOLLOWER_COUNTERS,
  rowCounters: ['inserted', 'changed', 'unchanged', 'markedUnsubscribed'],
  resolve: () => ({}),
  scheduledPayload: scheduledPlain,
});
