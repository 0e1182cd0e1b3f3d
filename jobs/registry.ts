/**
 * Every sync job's handler, by name: the worker dispatches on job.name through `findSyncJob`. The
 * Record type makes a contract without a handler (src/sync/registry.ts) a type error.
 */
import type { SyncJobName } from '../src/sync/registry.ts';
import { blacklistJob } from './sync/blacklist.ts';
import { datacubeJob } from './sync/datacube.ts';
import { followersJob } from './sync/followers.ts';
import { publisherJob } from './sync/publisher.ts';
import { tagsJob } from './sync/tags.ts';
import type { AnySyncJob } from './types.ts';

export const SYNC_JOBS: Readonly<Record<SyncJobName, AnySyncJob>> = {
  followers: followersJob,
  blacklist: blacklistJob,
  datacube: datacubeJob,
  publisher: publisherJob,
  tags: tagsJob,
};

export function findSyncJob(name: string): AnySyncJob | undefined {
  return Object.hasOwn(SYNC_JOBS, name) ? SYNC_JOBS[name as SyncJobName] : undefined;
}
