/** The `datacube` sync job's contract (handler: jobs/sync/datacube.ts). */
import { beijingDate, resolveRange } from '../calendar.ts';
import { dateRange, defineContract } from './contract.ts';

const range = dateRange(1);

export const datacubeContract = defineContract({
  name: 'datacube',
  description:
    'daily follower statistics (getusersummary, getusercumulate) for a date range, default yesterday',
  ...range,
  retry: { attempts: 4, backoff: { type: 'exponential', delay: 60_000 } },
  cron: 'CRON_DATACUBE',
  counters: ['windows', 'windowsDone', 'summaryRows', 'cumulateRows', 'summaryRemoved'],
  rowCounters: ['summaryRows', 'cumulateRows'],
  // `today` fixes the clip to yesterday at resolve time (a run crossing midnight keeps its range).
  resolve: (payload, now) => ({ ...resolveRange(payload, now), today: beijingDate(now) }),
});
