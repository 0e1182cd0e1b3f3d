/**
 * The ingest benchmark's ceiling: a bare Hono handler on @hono/node-server that reads the body and
 * answers "success", with nothing else (no signature, no Redis). Started as its own process.
 *   tsx bench/bare-hono.ts <port>
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/wx', async (c) => {
  await c.req.text();
  return c.text('success');
});
const port = Number(process.argv[2] ?? 3999);
serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => console.log(`ready ${port}`));
process.on('SIGTERM', () => process.exit(0));
