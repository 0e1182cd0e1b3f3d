import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { pgConfigFromUrl } from './pg-config.ts';

export type Db = PrismaClient;

/** A Prisma client on the pg driver adapter (no native query engine to download). */
export function createDb(databaseUrl: string, options: { poolSize?: number } = {}): Db {
  const adapter = new PrismaPg({ ...pgConfigFromUrl(databaseUrl), max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
