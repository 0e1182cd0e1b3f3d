/**
 * The `publisher` sync job's contract (handler: jobs/sync/publisher.ts). Default range: the 7 days
 * ending yesterday, so WeChat's late corrections (settlement status, adjusted figures) of the last
 * week are picked up; upserts make the overlap harmless.
 */
import { dateRange, defineContract } from './contract.ts';

export const PUBLISHER_DEFAULT_DAYS = 7;

export const publisherContract = defineContract({
  name: 'publisher',
  description: 'publisher/stat CPS figures and settlements for a date range, default the last 7 days',
  ...dateRange(PUBLISHER_DEFAULT_DAYS),
  retry: { attempts: 4, backoff: { type: 'exponential', delay: 60_000 } },
  cron: 'CRON_PUBLISHER',
  counters: ['cpsDays', 'settlements', 'slots', 'settlementTotalNum'],
  rowCounters: ['cpsDays', 'settlements', 'slots'],
});
