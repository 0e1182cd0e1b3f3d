/** `wxsync fake-wechat` as a process: starts with 100,000 followers, serves a full pagination, keeps env secrets quiet. */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenidPage, TokenResponse } from '../../src/wechat/schemas.ts';

const ENV_SECRET = 'envsecret-made-up-0123456789abcdef';
let child: ChildProcess;
let output = '';
let url: string;

beforeAll(async () => {
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli.ts',
      'fake-wechat',
      '--port',
      '0',
      '--followers',
      '100000',
      '--seed',
      'cli',
      '--fault',
      'user/get:errcode=-1:rate=0',
      '--profiles',
      'legacy',
      '--quota',
      '/cgi-bin/user/info/batchget=40',
      '--clock',
      '2026-03-01T15:59:00Z',
    ],
    {
      env: { ...process.env, WECHAT_APP_ID: 'wxcli0000000000001', WECHAT_APP_SECRET: ENV_SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match && output.includes('admin:')) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`fake-wechat exited with ${code}: ${output}`));
    });
  });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

describe('wxsync fake-wechat', () => {
  it('prints the URL, the appid and the generation time, never the secret from the environment', () => {
    expect(output).toContain('accepts appid wxcli0000000000001');
    expect(output).toMatch(/generated 100000 followers .* in \d+ ms/);
    expect(output).not.toContain(ENV_SECRET);
  });

  it('serves a full pagination of 100,000 followers with the environment credentials', async () => {
    const tokenUrl = `${url}/cgi-bin/token?${new URLSearchParams({ grant_type: 'client_credential', appid: 'wxcli0000000000001', secret: ENV_SECRET })}`;
    const { access_token } = TokenResponse.parse(await (await fetch(tokenUrl)).json());
    const seen = new Set<string>();
    let next = '';
    for (;;) {
      const page = OpenidPage.parse(
        await (
          await fetch(`${url}/cgi-bin/user/get?access_token=${access_token}&next_openid=${next}`)
        ).json(),
      );
      if (page.count === 0) break;
      for (const openid of page.data!.openid) seen.add(openid);
      next = page.next_openid;
    }
    expect(seen.size).toBe(100_000);
    const calls = (await (await fetch(`${url}/__fake/calls`)).json()) as { counts: Record<string, number> };
    expect(calls.counts).toEqual({ token: 1, 'user/get': 11 });
  });

  it('applied --profiles, --quota and --clock', async () => {
    expect(output).toContain('profiles: legacy');
    const clock = (await (await fetch(`${url}/__fake/clock`)).json()) as { now: string };
    // Started at 15:59 UTC: still before 16:00 (00:00 Beijing) within this test's first minute.
    expect(clock.now.startsWith('2026-03-01T15:59')).toBe(true);
    const quotas = (await (await fetch(`${url}/__fake/quotas`)).json()) as {
      paths: Record<string, { daily_limit: number }>;
    };
    expect(quotas.paths['/cgi-bin/user/info/batchget']!.daily_limit).toBe(40);
    expect(quotas.paths['/cgi-bin/user/get']!.daily_limit).toBe(500);
  });

  it('installed the --fault rule', async () => {
    const faults = await (await fetch(`${url}/__fake/faults`)).json();
    expect(faults).toEqual({ rules: { 'user/get': { errcode: -1, errorRate: 0 } }, tokenExpiryEveryS: null });
  });
});
