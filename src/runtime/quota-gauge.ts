/**
 * Keeps `wxsync_wechat_quota_remaining{path}` fresh in a worker that serves /metrics: every
 * WECHAT_QUOTA_REFRESH_S it reads the quota report (shared through Redis, so several workers make
 * one round of quota/get calls per period between them). The label set is bounded: the known
 * paths. A path WeChat will not report has no sample rather than a made-up one.
 */
import type { Started, Starter } from '../../jobs/worker-context.ts';
import { quotaRemaining } from '../metrics.ts';
import { cachedQuotaReport, quotaPaths } from '../wechat/quota.ts';

export const startQuotaGauge: Starter = (ctx): Started => {
  const periodS = ctx.config.WECHAT_QUOTA_REFRESH_S;
  // Only a worker with /metrics exposes the gauge; others would spend quota/get calls for nothing.
  if (ctx.config.WORKER_METRICS_PORT === undefined || periodS === 0) {
    return { name: 'quota-gauge', close: async () => undefined };
  }
  let running: Promise<void> | undefined;
  const refresh = async () => {
    try {
      const { rows } = await cachedQuotaReport(ctx.wechat, ctx.serviceRedis, {
        keyPrefix: ctx.config.QUEUE_PREFIX,
        maxAgeMs: periodS * 1000,
      });
      const known = new Set(quotaPaths(ctx.wechat));
      for (const row of rows) {
        if (!known.has(row.path)) continue;
        if ('error' in row) quotaRemaining.remove({ path: row.path });
        else quotaRemaining.set({ path: row.path }, row.remain);
      }
    } catch (error) {
      ctx.log.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'could not refresh the WeChat quota gauge',
      );
    }
  };
  const tick = () => {
    running ??= refresh().finally(() => {
      running = undefined;
    });
  };
  tick();
  const timer = setInterval(tick, periodS * 1000);
  timer.unref();
  ctx.log.info({ periodS }, 'quota gauge started');
  return {
    name: 'quota-gauge',
    async close() {
      clearInterval(timer);
      await running;
    },
  };
};
