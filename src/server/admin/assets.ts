/**
 * Static files of the dashboard, served by us so the page works offline (no CDN): Chart.js' UMD
 * bundle straight from node_modules, and our small client script. Read once, on first request.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export interface Asset {
  body: string;
  type: string;
}

const JS = 'text/javascript; charset=utf-8';

/** chart.js exports only its entry points, so the UMD bundle is found beside the CJS entry. */
const chartUmdPath = () => join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
const clientScriptPath = () => join(dirname(new URL(import.meta.url).pathname), 'static', 'dashboard.js');

/**
 * A Map, not an object literal: a lookup by a name from the URL must never reach Object.prototype
 * (`constructor`, `__proto__`, `toString` were found on the literal and answered 500).
 */
const SOURCES: ReadonlyMap<string, () => string> = new Map([
  ['chart.umd.js', chartUmdPath],
  ['dashboard.js', clientScriptPath],
]);

const cache = new Map<string, Asset>();

/** The named asset, or undefined for any other name (never a path from the request). */
export function asset(name: string): Asset | undefined {
  const source = SOURCES.get(name);
  if (!source) return undefined;
  let found = cache.get(name);
  if (!found) {
    found = { body: readFileSync(source(), 'utf8'), type: JS };
    cache.set(name, found);
  }
  return found;
}
