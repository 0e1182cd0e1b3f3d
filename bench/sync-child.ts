/**
 * One follower sync, inline, in its own process (so its peak RSS is its own): prints one JSON line
 * with the wall time, the run's counts and the process's peak resident memory.
 *   tsx bench/sync-child.ts [full|listing]   (configuration from the environment, as for
 *   `wxsync sync --inline`; --force: the benchmark measures the sync, not the quota plan)
 */
import { findSyncJob } from '../jobs/registry.ts';
import { runSyncJob } from '../jobs/runner.ts';
import { openSyncRuntime } from '../jobs/sync-runtime.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';

const config = loadConfig();
const runtime = openSyncRuntime(config, createLogger('warn', { pretty: false }));
try {
  const started = performance.now();
  const mode = process.argv[2] === 'listing' ? 'listing' : 'full';
  const result = await runSyncJob(
    findSyncJob('followers')!,
    { trigger: 'cli', mode, force: true },
    runtime.deps,
  );
  const wallMs = performance.now() - started;
  console.log(
    JSON.stringify({ wallMs, counts: result.counts, peakRssMb: process.resourceUsage().maxRSS / 1024 }),
  );
} finally {
  await runtime.close();
}
