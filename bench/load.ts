/**
 * The ingest benchmark's load generator, in its own process so it does not share the server's
 * event loop: autocannon replays pre-signed pushes (one distinct event per request, never
 * repeated) and prints one JSON line with throughput, latency percentiles and errors.
 *   tsx bench/load.ts <requests.json> <baseUrl> <seconds> <connections>
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface Push {
  path: string;
  body: string;
}

const [file, baseUrl, seconds = '10', connections = '32'] = process.argv.slice(2);
if (!file || !baseUrl) throw new Error('usage: load.ts <requests.json> <baseUrl> <seconds> <connections>');
const pushes = JSON.parse(readFileSync(file, 'utf8')) as Push[];
let next = 0;

const result = await autocannon({
  url: baseUrl,
  connections: Number(connections),
  duration: Number(seconds),
  requests: [
    {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      setupRequest: (request) => {
        // Never replay a push: a replay is a duplicate, not a new accepted event (the caller
        // generates more pushes than the duration can use).
        const push = pushes[next++ % pushes.length]!;
        return { ...request, path: push.path, body: push.body };
      },
    },
  ],
});

console.log(
  JSON.stringify({
    sent: Math.min(next, pushes.length),
    exhausted: next > pushes.length,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    perSecond: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  }),
);
