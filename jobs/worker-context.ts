/**
 * What `wxsync worker` builds once and hands to each of its starters (events worker, sync worker,
 * scheduler, metrics endpoint), and what a starter hands back.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../src/config.ts';
import type { Db } from '../src/db/client.ts';
import type { Log } from '../src/logger.ts';
import type { WeChatClient } from '../src/wechat/client.ts';

export interface WorkerContext {
  config: Config;
  log: Log;
  db: Db;
  wechat: WeChatClient;
  /** `worker`-role connection (maxRetriesPerRequest: null) for BullMQ workers. */
  workerRedis: Redis;
  /** `service`-role connection for producers, locks and the token store. */
  serviceRedis: Redis;
  /** Overrides EVENT_WORKER_CONCURRENCY when given on the command line. */
  concurrency?: number;
}

/** A running piece of `wxsync worker`: closes on SIGTERM/SIGINT. */
export interface Started {
  name: string;
  /** Stop taking jobs and wait for the running ones. */
  close(): Promise<void>;
}

export type Starter = (ctx: WorkerContext) => Started | Promise<Started>;
