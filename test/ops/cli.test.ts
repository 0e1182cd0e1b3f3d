/**
 * The operator commands as an operator runs them: `wxsync ...` in a child process with its
 * configuration in the environment, against a fresh database, the fake platform and a test Redis prefix.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpsTestEnv, opsTestEnv } from '../support/ops-env.ts';

let h: OpsTestEnv;
let env: Record<string, string>;
beforeAll(async () => {
  h = await opsTestEnv({ fake: { followers: 40, blacklist: 0 } });
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    CI: '1',
    // A developer's own .env must not fill in what a test leaves out on purpose.
    DOTENV_CONFIG_PATH: '/nonexistent/wxsync-test.env',
    DATABASE_URL: h.config.DATABASE_URL,
    REDIS_URL: h.config.REDIS_URL,
    QUEUE_PREFIX: h.prefix,
    WECHAT_APP_ID: h.config.WECHAT_APP_ID,
    WECHAT_APP_SECRET: h.config.WECHAT_APP_SECRET,
    WECHAT_TOKEN: h.config.WECHAT_TOKEN,
    WECHAT_API_BASE: h.config.WECHAT_API_BASE,
    WECHAT_MAX_ATTEMPTS: '2',
    ADMIN_TOKEN: h.config.ADMIN_TOKEN!,
  };
});
afterAll(async () => {
  await h?.close();
});

function wxsync(args: string[], extraEnv: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const merged = Object.fromEntries(
      Object.entries({ ...env, ...extraEnv }).filter(([, v]) => v !== undefined),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: merged });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('wxsync doctor', () => {
  it('passes with every dependency up', async () => {
    const r = await wxsync(['doctor']);
    expect(r.stdout).toMatch(/^ok\s+postgres/m);
    expect(r.stdout).toMatch(/^ok\s+schema/m);
    expect(r.stdout).toMatch(/^ok\s+redis /m);
    expect(r.stdout).toMatch(/^ok\s+wechat_token/m);
    expect(r.stdout).toMatch(/^ok\s+quota\s+\/cgi-bin\/user\/get: [\d,]+ of 500 left today/m);
    expect(r.stdout).toContain('all required checks passed');
    expect(r.code).toBe(0);
  });

  it('warns (without failing) about a path whose quota is nearly used up', async () => {
    h.fake.state.quotas.setUsed({ '/cgi-bin/user/info/batchget': 4_999_999 });
    try {
      const r = await wxsync(['doctor']);
      expect(r.stdout).toMatch(/^warn\s+quota\s+\/cgi-bin\/user\/info\/batchget: 1 of 5,000,000 left today/m);
      expect(r.stdout).toMatch(/-> counters reset at \d{4}-\d\d-\d\dT16:00:00.000Z \(00:00 Beijing\)/);
      expect(r.code).toBe(0);
    } finally {
      h.fake.state.quotas.setUsed({ '/cgi-bin/user/info/batchget': 0 });
    }
  });

  it('fails with a hint when Redis is unreachable', async () => {
    const r = await wxsync(['doctor'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+redis /m);
    expect(r.stdout).toContain('-> start Redis: docker compose up -d redis');
    expect(r.stdout).toMatch(/^ok\s+postgres/m);
  });

  it('names missing settings and exits 2', async () => {
    const r = await wxsync(['doctor'], { WECHAT_APP_ID: undefined, ADMIN_TOKEN: undefined });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/FAIL\s+config\s+WECHAT_APP_ID: required/);
    expect(r.stdout).not.toContain(h.config.WECHAT_APP_SECRET);
  });
});

describe('wxsync quota', () => {
  it('prints a table of every path wxsync calls: daily limit, used, remaining', async () => {
    h.fake.state.quotas.setUsed({ '/cgi-bin/user/get': 125 });
    const r = await wxsync(['quota']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^path\s+daily limit\s+used\s+remaining\s+left$/);
    expect(r.stdout).toMatch(/^\/cgi-bin\/user\/get\s+500\s+125\s+375\s+75%$/m);
    expect(r.stdout).toMatch(/^\/cgi-bin\/stable_token\s+500,000\s+\d+\s+[\d,]+\s+100%$/m);
    expect(r.stdout).toMatch(/^\/cgi-bin\/user\/info\/batchget\s+5,000,000/m);
    expect(r.stdout).toMatch(/counters reset at .*T16:00:00.000Z \(00:00 Beijing time\)/);
  });

  it('--json for scripts', async () => {
    const r = await wxsync(['quota', '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as {
      resetAt: string;
      paths: { path: string; dailyLimit: number; used: number; remain: number }[];
    };
    expect(body.paths.find((p) => p.path === '/cgi-bin/user/get')).toEqual({
      path: '/cgi-bin/user/get',
      dailyLimit: 500,
      used: 125,
      remain: 375,
    });
    expect(body.paths.map((p) => p.path)).toContain('/cgi-bin/tags/members/getblacklist');
    expect(Date.parse(body.resetAt)).toBeGreaterThan(Date.now());
  });

  it('quota clear <path> and --all spend WeChat clears', async () => {
    expect((await wxsync(['quota', 'clear', '/cgi-bin/user/get'])).stdout).toContain('was reset');
    expect(h.fake.state.quotas.figures('/cgi-bin/user/get')?.used).toBe(0);
    h.fake.state.quotas.setUsed({ '/cgi-bin/user/info': 7 });
    expect((await wxsync(['quota', 'clear', '--all'])).code).toBe(0);
    expect(h.fake.state.quotas.figures('/cgi-bin/user/info')?.used).toBe(0);
    const bad = await wxsync(['quota', 'clear']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('give either a cgi path');
  });
});

describe('account commands', () => {
  it('blacklist add, list and remove, against WeChat and the table', async () => {
    const openids = h.fake.state.followerOpenids().slice(0, 2);
    const added = await wxsync(['blacklist', 'add', ...openids]);
    expect(added.stdout).toContain('add: 2 of 2 done, 0 failed');
    expect(added.code).toBe(0);
    expect(openids.every((o) => h.fake.state.isBlacklisted(h.fake.state.indexOf(o)!))).toBe(true);

    const listed = await wxsync(['blacklist', 'list', '--json']);
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { total: number; entries: { openid: string }[] };
    expect(page.entries.map((e) => e.openid).sort()).toEqual([...openids].sort());

    const live = await wxsync(['blacklist', 'list', '--live']);
    expect(live.stdout.trim().split('\n').sort()).toEqual([...openids].sort());

    const removed = await wxsync(['blacklist', 'remove', openids[0]!, 'oForeignOpenidNotOfThisApp0']);
    expect(removed.code).toBe(1); // one chunk, refused whole by WeChat (49003)
    expect(removed.stdout).toMatch(/FAILED\s+oForeignOpenidNotOfThisApp0\s+errcode 49003/);
    expect(removed.stdout).toContain('remove: 0 of 2 done, 2 failed');
    const rows = await h.deps.db.blacklistEntry.findMany({ where: { removedAt: null } });
    expect(rows).toHaveLength(2);
  });

  it('refuses a malformed openid before calling WeChat', async () => {
    const r = await wxsync(['blacklist', 'add', 'not an openid']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('openids.0: not an openid');
  });

  it('user, shorturl and ips', async () => {
    const openid = h.fake.state.followerOpenids()[5]!;
    const user = await wxsync(['user', openid, '--lang', 'en']);
    expect(user.code).toBe(0);
    expect(JSON.parse(user.stdout)).toMatchObject({
      openid,
      lang: 'en',
      live: { openid, subscribe: 1 },
      stored: null,
    });

    const short = await wxsync(['shorturl', 'https://example.com/a/long/path']);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/WeChat refused: errcode 48001 \(.*retired.*\)/);

    const ips = await wxsync(['ips']);
    expect(ips.code).toBe(0);
    expect(ips.stdout.trim().split('\n')).toContain('101.226.103.0/25');
  });
});
