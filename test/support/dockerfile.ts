/**
 * A replay of a Dockerfile without a Docker engine (see test/deploy/dockerfile.test.ts): every
 * stage gets a scratch folder as its filesystem root; COPY copies what Docker would copy (the build
 * context minus .dockerignore, or another stage's files), RUN runs the same command in the stage's
 * WORKDIR with its ENV. Instructions it does not know fail, so the replay never silently diverges.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile lines joined across `\` continuations, comments and blanks dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (buffer === '' && (line === '' || line.startsWith('#'))) return;
    if (buffer === '') start = i + 1;
    buffer += `${line.replace(/\\$/, '')} `;
    if (line.endsWith('\\')) return;
    const match = /^(\w+)\s+(.*)$/s.exec(buffer.trim());
    if (!match) throw new Error(`line ${start}: cannot parse "${buffer.trim()}"`);
    out.push({ op: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
    buffer = '';
  });
  return out;
}

/** A .dockerignore matcher: `*`, `**`, `?`, `!` exceptions; a match on a directory covers its files. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
      const source = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) =>
          part === '**/' || part === '**'
            ? '(?:.*/)?'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate;
    return ignored;
  };
}

/** Every file of the build context (relative paths), as Docker would send it. */
export function contextFiles(
  root: string,
  ignored: (path: string) => boolean,
  exceptions = false,
): Set<string> {
  const files = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // An ignored directory is skipped whole unless an exception could bring a file back.
        if (!ignored(rel) || exceptions) walk(rel);
      } else if (!ignored(rel)) files.add(rel);
    }
  };
  walk('');
  return files;
}

/** Splits `COPY [--from=x] [--chown=..] src... dest` (shell form only: the Dockerfile uses it). */
function copyArgs(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else if (!flag.startsWith('--chown=') && !flag.startsWith('--chmod=')) throw new Error(`COPY ${flag}`);
  }
  const dest = words.pop();
  if (!dest || words.length === 0) throw new Error(`COPY ${args}: needs sources and a destination`);
  return { from, sources: words, dest };
}

export interface Stage {
  name?: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

export const inStage = (stage: Stage, path: string) =>
  join(stage.root, posix.isAbsolute(path) ? path : posix.join(stage.workdir, path));

/** Docker's COPY: a directory source copies its contents; several sources or a trailing / mean a folder. */
function copyInto(stage: Stage, sources: Array<{ path: string; isDir: boolean }>, dest: string): void {
  const target = inStage(stage, dest);
  const intoDir = dest.endsWith('/') || dest === '.' || sources.length > 1;
  for (const source of sources) {
    if (source.isDir) {
      mkdirSync(target, { recursive: true });
      cpSync(source.path, target, { recursive: true });
    } else {
      const file = intoDir ? join(target, source.path.split('/').at(-1)!) : target;
      mkdirSync(dirname(file), { recursive: true });
      cpSync(source.path, file);
    }
  }
}

export const jsonArray = (text: string) =>
  text.startsWith('[') ? (JSON.parse(text) as string[]) : ['sh', '-c', text];

/** Replays `dockerfile` with `context` as the build context; returns the stages. */
export async function replay(dockerfile: string, context: string, scratch: string): Promise<Stage[]> {
  const rules = readFileSync(join(context, '.dockerignore'), 'utf8');
  const ignored = dockerignore(rules);
  const files = contextFiles(context, ignored, /^\s*!/m.test(rules));
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  for (const { op, args, line } of parseDockerfile(readFileSync(dockerfile, 'utf8'))) {
    const where = `Dockerfile line ${line}: ${op} ${args}`;
    if (op === 'FROM') {
      const [, name] = /\s+AS\s+(\S+)$/i.exec(args) ?? [];
      stage = {
        name,
        root: join(scratch, String(stages.length)),
        workdir: '/',
        env: {},
        user: 'root',
        entrypoint: [],
        cmd: [],
      };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      continue;
    }
    if (!stage) throw new Error(`${where}: before FROM`);
    switch (op) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args);
        mkdirSync(inStage(stage, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        break;
      case 'COPY': {
        const { from, sources, dest } = copyArgs(args);
        if (from !== undefined) {
          const source = stages.find((s, i) => s.name === from || String(i) === from);
          if (!source) throw new Error(`${where}: no stage ${from}`);
          const paths = sources.map((s) => {
            const path = inStage(source, s);
            if (!existsSync(path)) throw new Error(`${where}: ${s} does not exist in stage ${from}`);
            return { path, isDir: statSync(path).isDirectory() };
          });
          copyInto(stage, paths, dest);
        } else {
          const paths = sources.map((s) => {
            const rel = posix.normalize(s).replace(/\/$/, '');
            const inside = [...files].filter((f) => f === rel || f.startsWith(`${rel}/`));
            if (inside.length === 0) throw new Error(`${where}: ${s} is not in the build context`);
            if (inside.length === 1 && inside[0] === rel) return { path: join(context, rel), isDir: false };
            // Only what the context holds: copy the directory file by file (ignored files stay out).
            const staged = join(scratch, 'context', rel);
            for (const f of inside) {
              mkdirSync(dirname(join(scratch, 'context', f)), { recursive: true });
              cpSync(join(context, f), join(scratch, 'context', f));
            }
            return { path: staged, isDir: true };
          });
          copyInto(stage, paths, dest);
        }
        break;
      }
      case 'RUN': {
        const [cmd, ...rest] = jsonArray(args);
        try {
          await run(cmd!, rest, {
            cwd: inStage(stage, '.'),
            env: {
              ...process.env,
              ...stage.env,
              npm_config_prefer_offline: 'true',
              npm_config_update_notifier: 'false',
            },
            maxBuffer: 64 * 1024 * 1024,
            timeout: 240_000,
          });
        } catch (error) {
          const e = error as { stdout?: string; stderr?: string; message: string };
          throw new Error(`${where} failed:\n${e.message}\n${String(e.stderr ?? '').slice(-3000)}`);
        }
        break;
      }
      case 'USER':
        stage.user = args;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = jsonArray(args);
        break;
      case 'CMD':
        stage.cmd = jsonArray(args);
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`${where}: not replayed by this test (add it here when the Dockerfile needs it)`);
    }
  }
  return stages;
}
