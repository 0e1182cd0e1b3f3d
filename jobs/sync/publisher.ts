/**
 * Publisher stats sync: publisher_cps_general (upsert by date) and publisher_settlement (upsert by
 * sett_no, slots replaced per entry, report totals by range) over a date range, every page (its
 * default range, the last 7 days, and why: src/sync/publisher.ts). The CPS half is checkpointed, so
 * a run paused by 45009 on the settlements resumes there.
 */
import { z } from 'zod';
import { upsertCpsDaily, writeSettlements } from '../../src/db/stats.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { publisherContract } from '../../src/sync/publisher.ts';
import { getPublisherCpsGeneral, getPublisherSettlement } from '../../src/wechat/publisher.ts';
import { defineJob } from '../types.ts';

/** Which half of the run is stored: a resumed run (after a 45009 pause, a crash) does not fetch it again. */
const Checkpoint = z.object({
  cpsDone: z.boolean().default(false),
  counts: z.record(z.string(), z.number()).default({}),
});

export const publisherJob = defineJob(publisherContract, async ({ payload, deps, run, signal, progress }) => {
  const range = { startDate: payload.from, endDate: payload.to };
  const cp = Checkpoint.parse(run.checkpoint ?? {});
  const counts = { cpsDays: 0, settlements: 0, slots: 0, settlementTotalNum: 0, ...cp.counts };
  if (!cp.cpsDone) {
    const cps = await getPublisherCpsGeneral(deps.wechat, range);
    signal.throwIfAborted();
    counts.cpsDays = await upsertCpsDaily(deps.db, cps.list, new Date(), run.id);
    rowsUpserted.inc({ table: 'publisher_cps_daily' }, counts.cpsDays);
    await run.saveCheckpoint({ cpsDone: true, counts }, counts);
  }
  progress('cps', 1, 2, counts);

  const settlement = await getPublisherSettlement(deps.wechat, range);
  signal.throwIfAborted();
  const r = await writeSettlements(deps.db, range, settlement, new Date(), run.id);
  counts.settlements = r.settlements;
  counts.slots = r.slots;
  counts.settlementTotalNum = settlement.total_num;
  rowsUpserted.inc({ table: 'publisher_settlements' }, r.settlements);
  rowsUpserted.inc({ table: 'publisher_settlement_slots' }, r.slots);
  rowsUpserted.inc({ table: 'publisher_settlement_reports' }, 1);
  progress('done', 2, 2, counts);
  return counts;
});
