/** Every sync job's contract, in the order `sync all` runs them and the schedule lists them. */
import { blacklistContract } from './blacklist.ts';
import type { AnySyncContract } from './contract.ts';
import { datacubeContract } from './datacube.ts';
import { followersContract } from './followers.ts';
import { publisherContract } from './publisher.ts';
import { tagsContract } from './tags.ts';

export const SYNC_CONTRACTS = [
  followersContract,
  blacklistContract,
  datacubeContract,
  publisherContract,
  tagsContract,
] as const;

export type SyncJobName = (typeof SYNC_CONTRACTS)[number]['name'];
export const SYNC_JOB_NAMES = SYNC_CONTRACTS.map((c) => c.name) as [SyncJobName, ...SyncJobName[]];

const BY_NAME = new Map<string, AnySyncContract>(SYNC_CONTRACTS.map((c) => [c.name, c]));

export function findContract(name: string): AnySyncContract | undefined {
  return BY_NAME.get(name);
}

/** The contract of a known name (the type says it is one). */
export function contractOf(name: SyncJobName): AnySyncContract {
  return BY_NAME.get(name) as AnySyncContract;
}

/** The jobs that take --from/--to. */
export const datedJobs = (): SyncJobName[] =>
  SYNC_CONTRACTS.filter((c) => contractOf(c.name).range !== undefined).map((c) => c.name);

/** The rows a run of `job` wrote: the sum of the counters its contract calls rows (0 for unknown jobs). */
export function rowsWritten(job: string, counts: Record<string, unknown>): number {
  return (BY_NAME.get(job)?.rowCounters ?? []).reduce((sum, k) => {
    const n = counts[k];
    return sum + (typeof n === 'number' ? n : 0);
  }, 0);
}
