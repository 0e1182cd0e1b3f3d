/**
 * Every Prometheus metric wxsync exposes, in one place (served on /metrics). Modules import the
 * metric they move; nothing else registers metrics. Labels are bounded sets (routes, endpoints,
 * errcodes, reasons), never openids or tokens: values from outside go through boundedLabel.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

/** The label value for anything outside a label's known set. */
export const OTHER_LABEL = 'other';

/**
 * `value` if it is one of `known`, else `other`. Every label whose value comes from outside our
 * code (a pushed MsgType, WeChat's errcode, a job name read from Redis or sync_runs) goes through
 * this: each new value is a new time series, kept in memory forever and printed on every scrape.
 */
export function boundedLabel(value: string, known: ReadonlySet<string>): string {
  return known.has(value) ? value : OTHER_LABEL;
}
collectDefaultMetrics({ register: registry, prefix: 'wxsync_' });

export const httpRequests = new Counter({
  name: 'wxsync_http_requests_total',
  help: 'HTTP requests answered, by route and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const wxEvents = new Counter({
  name: 'wxsync_wx_pushes_total',
  help: 'Pushes received on /wx: result is accepted, duplicate or rejected, reason says why',
  labelNames: ['result', 'reason', 'msg_type'] as const,
  registers: [registry],
});

export const wechatCalls = new Counter({
  name: 'wxsync_wechat_api_calls_total',
  help: 'WeChat API calls by endpoint and outcome errcode (0 = ok, "http_502", "timeout"...)',
  labelNames: ['endpoint', 'errcode'] as const,
  registers: [registry],
});

export const wechatCallDuration = new Histogram({
  name: 'wxsync_wechat_api_call_seconds',
  help: 'WeChat API call latency by endpoint',
  labelNames: ['endpoint'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const tokenRefreshes = new Counter({
  name: 'wxsync_access_token_refreshes_total',
  help: 'access_token fetches made by this process, by api (stable = /cgi-bin/stable_token, classic = /cgi-bin/token)',
  labelNames: ['api'] as const,
  registers: [registry],
});

export const forcedTokenRefreshes = new Counter({
  name: 'wxsync_access_token_forced_refreshes_total',
  help: 'stable_token force_refresh decisions of this process: refreshed, suppressed_interval (one in the last 30 s), suppressed_daily (daily allowance used), failed',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const quotaRemaining = new Gauge({
  name: 'wxsync_wechat_quota_remaining',
  help: 'Calls left today of each WeChat API path wxsync uses (openapi/quota/get), refreshed by the worker; resets at 00:00 Beijing time',
  labelNames: ['path'] as const,
  registers: [registry],
});

export const rowsUpserted = new Counter({
  name: 'wxsync_rows_upserted_total',
  help: 'Rows written (inserted or changed) per table',
  labelNames: ['table'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'wxsync_job_duration_seconds',
  help: 'BullMQ job durations per queue, job name and outcome',
  labelNames: ['queue', 'name', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
  registers: [registry],
});

export const queueDepth = new Gauge({
  name: 'wxsync_queue_jobs',
  help: 'Jobs per queue and state (waiting, active, delayed, failed), sampled at scrape time',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
});

export const lastSuccessfulRun = new Gauge({
  name: 'wxsync_sync_last_success_timestamp_seconds',
  help: 'Unix time the last successful run of each sync job finished',
  labelNames: ['job'] as const,
  registers: [registry],
});

export const eventStoredSeconds = new Histogram({
  name: 'wxsync_events_stored_seconds',
  help:
    'Seconds from /wx accepting a push to the worker having stored it (follower row written, follower_events ' +
    'row processed), by kind: subscribe, unsubscribe, other',
  labelNames: ['kind'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
  registers: [registry],
});

export const eventBatchSize = new Histogram({
  name: 'wxsync_events_batch_size',
  help:
    'Pushes the events worker applied together (one follower_events statement, shared batchget calls), by ' +
    'what sent the batch: idle (nothing else in flight), full (100 openids), wait (EVENTS_BATCH_WAIT_MS)',
  labelNames: ['trigger'] as const,
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
  registers: [registry],
});

export const eventProfilesLeftOut = new Counter({
  name: 'wxsync_events_profiles_left_out_total',
  help: 'Subscribe pushes whose openid batchget left out of its answer (stored profile kept, not invented)',
  registers: [registry],
});
