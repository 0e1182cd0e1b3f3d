/**
 * What the account-action services need. Built once by the server or the CLI and passed in; tests
 * pass real ones pointed at a throwaway database, a test Redis prefix and the fake platform.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Log } from '../logger.ts';
import type { WeChatClient } from '../wechat/client.ts';

export interface OpsDeps {
  db: Db;
  /** A `service`-role connection (readiness ping). */
  redis: Redis;
  log: Log;
  wechat: WeChatClient;
  config: Config;
  /** Every BullMQ queue of the deployment: queue depths on the dashboard and /metrics, bull-board. */
  queues?: readonly Queue[];
}
