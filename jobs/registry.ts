/** Every sync job, by name: the worker dispatches on job.name through `findSyncJob`. */
import { blacklistJob } from './sync/blacklist.ts';
import { datacubeJob } from './sync/datacube.ts';
import { followersJob } from './sync/followers.ts';
import { publisherJob } from './sync/publisher.ts';
import type { AnySyncJob, SyncJobName } from './types.ts';

export const SYNC_JOBS: Readonly<Record<SyncJobName, AnySyncJob>> = {
  followers: followersJob,
  blacklist: blacklistJob,
  datacube: datacubeJob,
  publisher: publisherJob,
};

export function findSyncJob(name: string): AnySyncJob | undefined {
  return Object.hasOwn(SYNC_JOBS, name) ? SYNC_JOBS[name as SyncJobName] : undefined;
}
