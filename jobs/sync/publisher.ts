/**
 * Publisher stats sync: publisher_cps_general (upsert by date) and publisher_settlement (upsert by
 * sett_no, slots replaced per entry, report totals by range) over a date range, every page.
 * Default range: the 7 days ending yesterday, so WeChat's late corrections (settlement status,
 * adjusted figures) of the last week are picked up; upserts make the overlap harmless.
 */
import { upsertCpsDaily, writeSettlements } from '../../src/db/stats.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { getPublisherCpsGeneral, getPublisherSettlement } from '../../src/wechat/publisher.ts';
import { resolveRange } from '../dates.ts';
import { defineJob } from '../types.ts';
import { DateRangePayload } from './datacube.ts';

export const PUBLISHER_DEFAULT_DAYS = 7;

export const publisherJob = defineJob({
  name: 'publisher',
  description: 'publisher/stat CPS figures and settlements for a date range, default the last 7 days',
  payload: DateRangePayload,
  retry: { attempts: 4, backoff: { type: 'exponential', delay: 60_000 } },
  resolve: (payload, now) => resolveRange(payload, now, PUBLISHER_DEFAULT_DAYS),
  async run({ payload, deps, signal, progress }) {
    const range = { startDate: payload.from, endDate: payload.to };
    const counts = { cpsDays: 0, settlements: 0, slots: 0, settlementTotalNum: 0 };
    const cps = await getPublisherCpsGeneral(deps.wechat, range);
    signal.throwIfAborted();
    counts.cpsDays = await upsertCpsDaily(deps.db, cps.list, new Date());
    rowsUpserted.inc({ table: 'publisher_cps_daily' }, counts.cpsDays);
    progress('cps', 1, 2, counts);

    const settlement = await getPublisherSettlement(deps.wechat, range);
    signal.throwIfAborted();
    const r = await writeSettlements(deps.db, range, settlement, new Date());
    counts.settlements = r.settlements;
    counts.slots = r.slots;
    counts.settlementTotalNum = settlement.total_num;
    rowsUpserted.inc({ table: 'publisher_settlements' }, r.settlements);
    rowsUpserted.inc({ table: 'publisher_settlement_slots' }, r.slots);
    rowsUpserted.inc({ table: 'publisher_settlement_reports' }, 1);
    progress('done', 2, 2, counts);
    return counts;
  },
});
