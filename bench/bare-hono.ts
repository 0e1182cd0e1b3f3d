/**
 * The ingest benchmark's ceilings, each its own process on @hono/node-server:
 *   tsx bench/bare-hono.ts <port>                       reads the body, answers "success"
 *   tsx bench/bare-hono.ts <port> <redisUrl> <prefix>   the same plus one auto-pipelined Redis
 *                                                       write of the body before answering
 * The second is the least durable work any correct /wx handler must do (the push is in Redis
 * before WeChat hears `success`); /wx adds signature, decryption, XML validation, dedupe and the
 * queue on top of it.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';

const [portArg = '3999', redisUrl, prefix = 'bench-ceiling'] = process.argv.slice(2);
// The same connection settings as /wx's request connection: auto-pipelined, fail fast.
const redis = redisUrl
  ? new Redis(redisUrl, { enableAutoPipelining: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  : undefined;
let n = 0;
const app = new Hono();
app.post('/wx', async (c) => {
  const body = await c.req.text();
  if (redis) await redis.set(`${prefix}:${n++}`, body, 'EX', 600);
  return c.text('success');
});
const port = Number(portArg);
const start = () =>
  serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => console.log(`ready ${port}`));
if (redis) redis.once('ready', start);
else start();
process.on('SIGTERM', () => process.exit(0));
