/**
 * Datacube sync: getusersummary + getusercumulate over a date range, in windows of at most 7 days
 * (WeChat's limit), each window written in one transaction. A range reaching today (or later) is
 * clipped to yesterday, Beijing time (WeChat serves nothing newer), with a warning in the log and
 * `clippedTo` in the run's counts. The checkpoint counts windows written, so a resumed run starts
 * at the first window not yet stored.
 */
import { z } from 'zod';
import { writeDatacubeWindow } from '../../src/db/stats.ts';
import { InputError } from '../../src/errors.ts';
import { rowsUpserted } from '../../src/metrics.ts';
import { datacubeContract } from '../../src/sync/datacube.ts';
import { getUserCumulate, getUserSummary, splitDateRange } from '../../src/wechat/datacube.ts';
import { defineJob } from '../types.ts';

const Checkpoint = z.object({ windowsDone: z.number().int().default(0) });

export const datacubeJob = defineJob(
  datacubeContract,
  async ({ payload, deps, run, signal, log, progress }) => {
    const { windows, clippedTo } = splitDateRange(payload.from, payload.to, { today: payload.today });
    if (windows.length === 0) {
      throw new InputError(
        `datacube has data up to yesterday (${clippedTo}, Beijing time) only: ${payload.from}..${payload.to} is too recent`,
      );
    }
    if (clippedTo) {
      log.warn(
        { from: payload.from, to: payload.to, clippedTo },
        `range reaches today: clipped to ${clippedTo}`,
      );
    }
    const cp = Checkpoint.parse(run.checkpoint ?? {});
    const counts: Record<string, number | string> = {
      windows: windows.length,
      windowsDone: cp.windowsDone,
      summaryRows: 0,
      cumulateRows: 0,
      summaryRemoved: 0,
      ...(clippedTo ? { clippedTo, warning: `range clipped to ${clippedTo} (yesterday, Beijing time)` } : {}),
    };
    const num = (k: string) => Number(counts[k] ?? 0);
    for (const [i, window] of windows.entries()) {
      if (i < cp.windowsDone) continue;
      signal.throwIfAborted();
      const [summary, cumulate] = await Promise.all([
        getUserSummary(deps.wechat, window),
        getUserCumulate(deps.wechat, window),
      ]);
      const r = await writeDatacubeWindow(deps.db, window, summary, cumulate, new Date(), run.id);
      rowsUpserted.inc({ table: 'user_summary' }, r.summaryRows);
      rowsUpserted.inc({ table: 'user_cumulate' }, r.cumulateRows);
      counts.summaryRows = num('summaryRows') + r.summaryRows;
      counts.cumulateRows = num('cumulateRows') + r.cumulateRows;
      counts.summaryRemoved = num('summaryRemoved') + r.summaryRemoved;
      counts.windowsDone = i + 1;
      await run.saveCheckpoint({ windowsDone: i + 1 }, counts);
      progress('windows', i + 1, windows.length, counts);
    }
    return counts;
  },
);
