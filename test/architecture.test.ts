/**
 * The layer rule and the import graph, checked on the source text (README "Development" has the
 * map): library code in src/ never imports jobs/; only the composition roots (src/cli.ts,
 * src/cli/, src/demo/, src/runtime/) wire src/ and jobs/ together; nothing below the CLI imports
 * src/cli/; jobs/ imports no composition root; and no file imports itself round a cycle. Tests and
 * benchmarks: bench/ never imports test/, and test helpers (every file under test/ that is not a
 * `.test.ts`) live in test/support/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const COMPOSITION_ROOTS = ['src/cli.ts', 'src/cli/', 'src/demo/', 'src/runtime/'];
const isRoot = (file: string) =>
  COMPOSITION_ROOTS.some((r) => (r.endsWith('/') ? file.startsWith(r) : file === r));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith('src/generated/'));
}

/** Relative imports and re-exports of a file (static and dynamic), as repository paths. */
function importsOf(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] as string);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

const files = [...sourceFiles('src'), ...sourceFiles('jobs')];
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8'))]));

/** Every file cycle, each as the path that closes it (a -> b -> a). */
function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (!edges.has(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of edges.keys()) if (!state.has(file)) visit(file);
  return found;
}

const edgesWhere = (ok: (from: string, to: string) => boolean) =>
  [...graph].flatMap(([from, tos]) => tos.filter((to) => !ok(from, to)).map((to) => `${from} -> ${to}`));

describe('layers', () => {
  it('reads the source tree (the check is not vacuous)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('src/runtime/workers.ts')).toContain('jobs/events/worker.ts');
  });

  it('src/ outside the composition roots never imports jobs/', () => {
    expect(
      edgesWhere((from, to) => !from.startsWith('src/') || isRoot(from) || !to.startsWith('jobs/')),
    ).toEqual([]);
  });

  it('jobs/ imports no composition root', () => {
    expect(edgesWhere((from, to) => !from.startsWith('jobs/') || !isRoot(to))).toEqual([]);
  });

  it('nothing below the CLI imports src/cli/ (only src/cli.ts and src/cli/ itself)', () => {
    expect(
      edgesWhere(
        (from, to) => !to.startsWith('src/cli/') || from === 'src/cli.ts' || from.startsWith('src/cli/'),
      ),
    ).toEqual([]);
  });

  it('has no file import cycle', () => {
    expect(cyclesOf(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('finds a cycle and an upward import when there is one (the walker itself)', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cyclesOf(edges)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(
      importsOf('src/x/y.ts', "import type { A } from '../../jobs/z.ts';\nexport { B } from './w.ts';"),
    ).toEqual(['jobs/z.ts', 'src/x/w.ts']);
  });
});

describe('tests and benchmarks', () => {
  const benchGraph = new Map(
    sourceFiles('bench').map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8'))]),
  );

  it('bench/ never imports test/ (its helpers are its own: bench/support.ts, services.ts, figures.ts)', () => {
    expect(benchGraph.size).toBeGreaterThan(3);
    const upward = [...benchGraph].flatMap(([from, tos]) =>
      tos.filter((to) => to.startsWith('test/')).map((to) => `${from} -> ${to}`),
    );
    expect(upward).toEqual([]);
  });

  it('test helpers live in test/support/ only (every other file under test/ is a .test.ts)', () => {
    const everyFile = readdirSync(join(ROOT, 'test'), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => relative(ROOT, join(e.parentPath, e.name)));
    expect(everyFile).toContain('test/support/sync-env.ts');
    expect(everyFile.filter((f) => !f.endsWith('.test.ts') && !f.startsWith('test/support/'))).toEqual([]);
  });

  it('test files import helpers from test/support/, never from another test file', () => {
    const tests = sourceFiles('test');
    const strays = tests.flatMap((from) =>
      importsOf(from, readFileSync(join(ROOT, from), 'utf8'))
        .filter((to) => to.startsWith('test/') && !to.startsWith('test/support/'))
        .map((to) => `${from} -> ${to}`),
    );
    expect(strays).toEqual([]);
  });
});

/** A Prisma model call or a raw statement: SQL, which lives in src/db/ only. */
const SQL =
  /\$(?:queryRaw|executeRaw|transaction)\w*\b|\bbulkQuery\(|\.(?:followerEvent|follower|blacklistEntry|syncRun|userSummary|userCumulate|publisher\w*)\.(?:find|create|update|upsert|delete|count|aggregate|groupBy)\w*\(/;

describe('SQL', () => {
  it('every statement lives in src/db/', () => {
    const outside = files.filter(
      (f) => !f.startsWith('src/db/') && SQL.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(outside).toEqual([]);
  });

  it('the pattern sees raw statements and model calls', () => {
    expect(SQL.test('await db.$queryRaw`SELECT 1`')).toBe(true);
    expect(SQL.test('deps.db.follower.findUnique({ where })')).toBe(true);
    expect(SQL.test('queue.getJobs()')).toBe(false);
  });
});
