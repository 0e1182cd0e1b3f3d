/** The `blacklist` sync job's contract (handler: jobs/sync/blacklist.ts). */
import { z } from 'zod';
import { defineContract, scheduledPlain, Trigger } from './contract.ts';

export const blacklistContract = defineContract({
  name: 'blacklist',
  description: "mirror the account's blacklist (getblacklist); rows that left it get removed_at",
  payload: z.object({ trigger: Trigger }),
  retry: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
  cron: 'CRON_BLACKLIST',
  counters: ['pages', 'listed', 'added', 'relisted', 'confirmed', 'removed', 'wechatTotal'],
  rowCounters: ['added', 'relisted', 'confirmed', 'removed'],
  resolve: () => ({}),
  scheduledPayload: scheduledPlain,
});
