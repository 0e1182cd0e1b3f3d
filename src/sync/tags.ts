/** The `tags` sync job's contract (handler: jobs/sync/tags.ts). The follower sync mirrors tags too. */
import { z } from 'zod';
import { defineContract, scheduledPlain, Trigger } from './contract.ts';

export const TAG_COUNTERS = ['listed', 'added', 'renamed', 'restored', 'removed'] as const;

export const tagsContract = defineContract({
  name: 'tags',
  description:
    "mirror the account's user tags (tags/get: names and counts); tags that disappear get removed_at",
  payload: z.object({ trigger: Trigger }),
  retry: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
  cron: 'CRON_TAGS',
  counters: TAG_COUNTERS,
  rowCounters: ['listed', 'removed'],
  resolve: () => ({}),
  scheduledPayload: scheduledPlain,
});
