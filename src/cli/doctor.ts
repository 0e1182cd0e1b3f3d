/**
 * `wxsync doctor`: the checks of /readyz (PostgreSQL, schema, Redis, access_token) plus the
 * configuration, Redis' eviction policy and today's WeChat API quotas, each with what to do when it
 * fails (a quota running low is a warning, not a failure). Exit 0 when
 * everything needed is green, 1 otherwise, 2 when the configuration itself is invalid.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { nextQuotaReset } from '../calendar.ts';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { checkReadiness, withTimeout } from '../ops/checks.ts';
import { safeErrorText } from '../safe-error.ts';
import { type QuotaRow, quotaReport } from '../wechat/quota.ts';
import { withOpsDeps } from './ops-context.ts';

export interface DoctorLine {
  ok: boolean | 'warn';
  name: string;
  detail: string;
  hint?: string;
}

/** BullMQ loses jobs when Redis may evict keys: anything but noeviction is a warning. */
async function evictionPolicy(redis: Redis): Promise<DoctorLine> {
  const hint =
    'redis-cli config set maxmemory-policy noeviction (and set it in redis.conf / docker-compose.yml)';
  try {
    const answer = (await withTimeout(redis.config('GET', 'maxmemory-policy'), 2_000)) as string[];
    const policy = answer[1] ?? 'unknown';
    return policy === 'noeviction'
      ? { ok: true, name: 'redis_eviction', detail: 'maxmemory-policy noeviction' }
      : {
          ok: 'warn',
          name: 'redis_eviction',
          detail: `maxmemory-policy ${policy}: BullMQ may lose jobs`,
          hint,
        };
  } catch (error) {
    return {
      ok: 'warn',
      name: 'redis_eviction',
      detail: `could not read it (${safeErrorText(error)})`,
      hint,
    };
  }
}

function configNotes(config: Config): DoctorLine[] {
  const lines: DoctorLine[] = [{ ok: true, name: 'config', detail: 'environment / .env is valid' }];
  if (!config.ADMIN_TOKEN) {
    lines.push({
      ok: 'warn',
      name: 'admin',
      detail: 'ADMIN_TOKEN is not set: /admin and /metrics are disabled',
      hint: 'set ADMIN_TOKEN (16+ random characters, e.g. openssl rand -hex 24) to enable them',
    });
  }
  if (!config.WECHAT_ENCODING_AES_KEY) {
    lines.push({
      ok: 'warn',
      name: 'safe_mode',
      detail: 'WECHAT_ENCODING_AES_KEY is not set: only plaintext pushes are accepted',
      hint: "set it to the console's EncodingAESKey to accept safe/compatible mode",
    });
  }
  return lines;
}

/** Below this share of the daily limit a path is a warning: a full sync may not fit any more. */
const QUOTA_WARN_SHARE = 0.1;

/** One line per API path: what is left of today's quota (a warning when little or none is). */
export function quotaLines(rows: QuotaRow[], resetAt = nextQuotaReset()): DoctorLine[] {
  const hint = `counters reset at ${resetAt.toISOString()} (00:00 Beijing); wxsync quota clear <path> spends one of 50 monthly clears`;
  return rows.map((row) => {
    if ('error' in row)
      return { ok: 'warn', name: 'quota', detail: `${row.path}: not reported (${row.error})` };
    const detail = `${row.path}: ${row.remain.toLocaleString('en-US')} of ${row.dailyLimit.toLocaleString('en-US')} left today`;
    const low = row.remain <= row.dailyLimit * QUOTA_WARN_SHARE;
    return low ? { ok: 'warn', name: 'quota', detail, hint } : { ok: true, name: 'quota', detail };
  });
}

export function formatDoctor(lines: DoctorLine[]): string {
  const mark = (ok: DoctorLine['ok']) => (ok === true ? 'ok  ' : ok === 'warn' ? 'warn' : 'FAIL');
  return lines
    .map(
      (l) =>
        `${mark(l.ok)}  ${l.name.padEnd(15)} ${l.detail}${l.hint && l.ok !== true ? `\n      -> ${l.hint}` : ''}`,
    )
    .join('\n');
}

export async function runDoctor(
  env: Record<string, string | undefined> = process.env,
): Promise<{ lines: DoctorLine[]; exitCode: number }> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.problems.map((p) => ({
      ok: false as const,
      name: 'config',
      detail: p,
      hint: 'set it in the environment or in .env (copy .env.example to .env)',
    }));
    return { lines, exitCode: 2 };
  }
  const lines = configNotes(config);
  const ready = await withOpsDeps(async (deps) => {
    const [report, eviction] = await Promise.all([
      checkReadiness(deps, { timeoutMs: 3_000 }),
      evictionPolicy(deps.redis),
    ]);
    // Quotas need a token: only asked once the token check passed.
    const tokenOk = report.checks.find((c) => c.name === 'wechat_token')?.ok;
    const quota: DoctorLine[] = tokenOk
      ? await withTimeout(quotaReport(deps.wechat), 5_000).then(
          (rows) => quotaLines(rows),
          (error: unknown) => [
            {
              ok: 'warn' as const,
              name: 'quota',
              detail: `could not read the quotas (${safeErrorText(error)})`,
            },
          ],
        )
      : [];
    return { report, eviction, quota };
  }, config);
  for (const c of ready.report.checks) {
    lines.push({
      ok: c.ok,
      name: c.name,
      detail: c.ok ? `reachable (${c.ms} ms)` : (c.error ?? 'failed'),
      hint: c.hint,
    });
  }
  const redisOk = ready.report.checks.find((c) => c.name === 'redis')?.ok;
  if (redisOk) lines.push(ready.eviction);
  lines.push(...ready.quota);
  return { lines, exitCode: ready.report.ok ? 0 : 1 };
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check configuration, PostgreSQL, schema, Redis and WeChat credentials, with a hint per failure',
    )
    .action(async () => {
      const { lines, exitCode } = await runDoctor();
      console.log(formatDoctor(lines));
      console.log(
        exitCode === 0 ? '\nall required checks passed' : '\nsome checks failed: see the hints above',
      );
      process.exitCode = exitCode;
    });
}
