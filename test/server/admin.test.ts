import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { PANEL_NAMES } from '../../src/ops/dashboard.ts';
import { ADMIN_TOKEN, bearer, jsonHeaders, opsTestEnv } from '../support/ops-env.ts';
import { perFile } from '../support/per-file.ts';

const h = perFile(() => opsTestEnv());

const someOpenid = () => h.fake.state.followerOpenids()[0]!;

/** Every admin route with a request that succeeds when authenticated. */
const routes = (): { method: string; path: string; body?: unknown; ok: number[] }[] => [
  { method: 'GET', path: '/admin/', ok: [200] },
  { method: 'GET', path: '/admin', ok: [200] },
  ...PANEL_NAMES.flatMap((name) => [
    { method: 'GET', path: `/admin/api/${name}`, ok: [200] },
    { method: 'GET', path: `/admin/api/${name}.csv`, ok: [200] },
  ]),
  { method: 'GET', path: '/admin/assets/chart.umd.js', ok: [200] },
  { method: 'GET', path: '/admin/assets/dashboard.js', ok: [200] },
  { method: 'GET', path: '/admin/blacklist', ok: [200] },
  { method: 'POST', path: '/admin/blacklist', body: { openids: [someOpenid()] }, ok: [200] },
  { method: 'DELETE', path: '/admin/blacklist', body: { openids: [someOpenid()] }, ok: [200] },
  { method: 'GET', path: `/admin/users/${someOpenid()}?lang=en`, ok: [200] },
  { method: 'POST', path: `/admin/users/${someOpenid()}/refresh`, ok: [200] },
  // WeChat retired shorturl: an authenticated call reaches WeChat and relays its refusal.
  { method: 'POST', path: '/admin/shorturl', body: { long_url: 'https://example.com/a' }, ok: [502] },
  { method: 'GET', path: '/admin/ips', ok: [200] },
  { method: 'GET', path: '/admin/queues', ok: [200] },
  { method: 'GET', path: '/admin/queues/api/queues', ok: [200] },
  { method: 'POST', path: '/admin/sync/blacklist', ok: [202] },
  { method: 'GET', path: '/admin/runs', ok: [200] },
  // Run 999999 does not exist: authenticated, the request reaches the lookup (404).
  { method: 'POST', path: '/admin/runs/999999/retry', ok: [404] },
  { method: 'POST', path: '/admin/logout', ok: [303] },
  { method: 'GET', path: '/metrics', ok: [200] },
];

const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
  h.app.request(path, {
    method,
    // Write requests say JSON even without a body (the admin API requires the content type).
    headers: method === 'GET' ? headers : { ...headers, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('admin authentication', () => {
  it('refuses every admin route without a bearer (401)', async () => {
    for (const r of routes()) {
      const res = await send(r.method, r.path, {}, r.body);
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it('refuses a wrong bearer (401)', async () => {
    for (const r of routes()) {
      const res = await send(r.method, r.path, bearer('wrong-token-wrong-token-0000'), r.body);
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it('answers every admin route with the bearer', async () => {
    for (const r of routes()) {
      const res = await send(r.method, r.path, bearer(), r.body);
      expect(r.ok, `${r.method} ${r.path} -> ${res.status}`).toContain(res.status);
    }
  });

  it('401 JSON body names the way in, and no secret', async () => {
    const res = await h.app.request('/admin/blacklist');
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('unauthorized');
    expect(body.message).toMatch(/Bearer/);
    expect(JSON.stringify(body)).not.toContain(ADMIN_TOKEN);
  });

  it('shows the login form to a browser without credentials', async () => {
    const res = await h.app.request('/admin/', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('action="/admin/login"');
  });

  it('logs a browser in with the token and an HttpOnly SameSite=Strict cookie', async () => {
    const wrong = await h.app.request('/admin/login', {
      method: 'POST',
      body: new URLSearchParams({ token: 'not-the-token-not-the-token' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const res = await h.app.request('/admin/login', {
      method: 'POST',
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/admin/);
    expect(cookie).not.toContain(ADMIN_TOKEN);
    const session = cookie.split(';')[0]!;

    const ok = await h.app.request('/admin/api/growth', { headers: { Cookie: session } });
    expect(ok.status).toBe(200);
    const tampered = `${session.slice(0, -2)}xx`;
    const refused = await h.app.request('/admin/api/growth', { headers: { Cookie: tampered } });
    expect(refused.status).toBe(401);
  });
});

async function login(): Promise<string> {
  const res = await h.app.request('/admin/login', {
    method: 'POST',
    body: new URLSearchParams({ token: ADMIN_TOKEN }),
  });
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('sessions and cross-site requests', () => {
  it('logout revokes the session: the cookie (and any copy of it) stops working at once', async () => {
    const session = await login();
    const other = await login();
    expect((await h.app.request('/admin/api/growth', { headers: { Cookie: session } })).status).toBe(200);
    const out = await h.app.request('/admin/logout', { method: 'POST', headers: { Cookie: session } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    // A copy kept from before the logout is refused too (the server remembers the revocation).
    expect((await h.app.request('/admin/api/growth', { headers: { Cookie: session } })).status).toBe(401);
    expect(
      (await h.app.request('/admin/', { headers: { Cookie: session, Accept: 'text/html' } })).status,
    ).toBe(401);
    // Another browser's session is untouched.
    expect((await h.app.request('/admin/api/growth', { headers: { Cookie: other } })).status).toBe(200);
  });

  it('refuses state-changing requests from another site (Origin, Sec-Fetch-Site), with the cookie or the bearer', async () => {
    const session = await login();
    const body = JSON.stringify({ openids: [someOpenid()] });
    const post = (headers: Record<string, string>) =>
      h.app.request('/admin/blacklist', {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', ...headers },
      });
    for (const auth of [{ Cookie: session }, bearer()]) {
      const foreigns: Array<Record<string, string>> = [
        { Origin: 'https://evil.example' },
        { Origin: 'null' },
        { Origin: 'http://localhost.evil.example' },
        { 'Sec-Fetch-Site': 'cross-site' },
        { 'Sec-Fetch-Site': 'same-site' },
        { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://localhost' },
      ];
      for (const foreign of foreigns) {
        const res = await post({ ...auth, ...foreign });
        expect(res.status, JSON.stringify(foreign)).toBe(403);
      }
    }
    const sameOrigin = await post({
      Cookie: session,
      Origin: 'http://localhost',
      'Sec-Fetch-Site': 'same-origin',
    });
    expect(sameOrigin.status).toBe(200);
    // A cross-site logout or login is refused as well.
    const logout = await h.app.request('/admin/logout', {
      method: 'POST',
      headers: { Cookie: session, 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(logout.status).toBe(403);
    const forcedLogin = await h.app.request('/admin/login', {
      method: 'POST',
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      headers: { Origin: 'https://evil.example' },
    });
    expect(forcedLogin.status).toBe(403);
  });

  it('limits wrong login tokens per source: 10 a minute, then 429 (even for the right token)', async () => {
    const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/login`;
    const login = (token: string) =>
      fetch(url, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
    try {
      for (let i = 0; i < 10; i++) expect((await login(`wrong-token-${i}-wrong-token`)).status).toBe(401);
      expect((await login('wrong-token-again-wrong-token')).status).toBe(429);
      expect((await login(ADMIN_TOKEN)).status).toBe(429);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('requires exactly application/json on write routes, even with an empty body', async () => {
    const trigger = (type?: string) =>
      h.app.request('/admin/sync/blacklist', {
        method: 'POST',
        headers: { ...bearer(), ...(type ? { 'Content-Type': type } : {}) },
      });
    for (const type of [
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json-seq',
      'application/jsonp',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await trigger(type);
      expect(res.status, String(type)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/Content-Type: application\/json/);
    }
    expect((await trigger('application/json')).status).toBe(202);
    expect((await trigger('Application/JSON; charset=utf-8')).status).toBe(202);
    const retry = await h.app.request('/admin/runs/999999/retry', { method: 'POST', headers: bearer() });
    expect(retry.status).toBe(400);
  });

  it('looks assets up by own name only: prototype keys and paths are 404', async () => {
    for (const name of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '..%2fpackage.json',
      'chart.umd.js%00',
    ]) {
      const res = await h.app.request(`/admin/assets/${name}`, { headers: bearer() });
      expect(res.status, name).toBe(404);
    }
    expect((await h.app.request('/admin/assets/dashboard.js', { headers: bearer() })).status).toBe(200);
  });

  it('sends security headers on admin answers: nosniff, no framing, no Referer, no caching of data', async () => {
    for (const path of ['/admin/api/growth', '/admin/blacklist', '/admin/nothing', '/admin/']) {
      const res = await h.app.request(path, { headers: bearer() });
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('same-origin');
      expect(res.headers.get('cache-control'), path).toMatch(/no-store/);
    }
    const login = await h.app.request('/admin/login');
    expect(login.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('ADMIN_TOKEN unset', () => {
  it('mounts neither /admin nor /metrics, but health stays', async () => {
    const bare = await opsTestEnv({ adminToken: null });
    try {
      expect((await bare.app.request('/admin/blacklist', { headers: bearer() })).status).toBe(404);
      expect((await bare.app.request('/admin/', { headers: bearer() })).status).toBe(404);
      expect((await bare.app.request('/metrics', { headers: bearer() })).status).toBe(404);
      expect((await bare.app.request('/healthz')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

type Report = {
  requested: number;
  succeeded: number;
  failed: number;
  results: { openid: string; ok: boolean; errcode?: number }[];
};

async function blacklistRows(openids: string[]) {
  return h.deps.db.blacklistEntry.findMany({
    where: { openid: { in: openids } },
    orderBy: { openid: 'asc' },
  });
}

/** POST (add) or DELETE (remove) /admin/blacklist for `openids`, as an operator. */
const changeBlacklist = (method: 'POST' | 'DELETE', openids: string[]) =>
  h.app.request('/admin/blacklist', { method, headers: jsonHeaders(), body: JSON.stringify({ openids }) });

describe('blacklist', () => {
  it('add then remove round-trips through WeChat and the table', async () => {
    const openids = h.fake.state.followerOpenids().slice(10, 13);
    const indexes = openids.map((o) => h.fake.state.indexOf(o)!);
    expect(indexes.some((i) => h.fake.state.isBlacklisted(i))).toBe(false);

    const added = await changeBlacklist('POST', openids);
    expect(added.status).toBe(200);
    const addReport = (await added.json()) as Report;
    expect(addReport).toMatchObject({ requested: 3, succeeded: 3, failed: 0 });
    expect(indexes.every((i) => h.fake.state.isBlacklisted(i))).toBe(true);
    let rows = await blacklistRows(openids);
    expect(rows.map((r) => r.openid)).toEqual([...openids].sort());
    expect(rows.every((r) => r.removedAt === null)).toBe(true);

    const listed = (await (
      await h.app.request('/admin/blacklist?page=1&page_size=1000', { headers: bearer() })
    ).json()) as {
      total: number;
      entries: { openid: string }[];
    };
    expect(listed.entries.map((e) => e.openid)).toEqual(expect.arrayContaining(openids));
    expect(listed.total).toBe(listed.entries.length);

    const removed = await changeBlacklist('DELETE', openids);
    expect(removed.status).toBe(200);
    expect((await removed.json()) as Report).toMatchObject({ succeeded: 3, failed: 0 });
    expect(indexes.some((i) => h.fake.state.isBlacklisted(i))).toBe(false);
    rows = await blacklistRows(openids);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.removedAt !== null)).toBe(true);

    const after = (await (
      await h.app.request('/admin/blacklist?page_size=1000', { headers: bearer() })
    ).json()) as {
      entries: { openid: string }[];
    };
    expect(after.entries.map((e) => e.openid)).not.toEqual(expect.arrayContaining([openids[0]]));

    // Listed again: the row comes back with removed_at cleared and a new listing period.
    const first = rows.find((r) => r.openid === openids[0])!;
    const again = await changeBlacklist('POST', [openids[0]!]);
    expect(again.status).toBe(200);
    const [relisted] = await blacklistRows([openids[0]!]);
    expect(relisted!.removedAt).toBeNull();
    expect(relisted!.listedAt.getTime()).toBeGreaterThan(first.listedAt.getTime());
  });

  it('reports a partial failure per openid, chunked by 20, and stores only what WeChat accepted', async () => {
    const real = h.fake.state.followerOpenids().slice(20, 41); // 21 followers
    const foreign = 'oForeignOpenidNotOfThisApp000';
    const openids = [...real, foreign]; // chunk 1: 20 real; chunk 2: 1 real + the foreign one
    const before = h.fake.calls.count('batchblacklist');
    const res = await changeBlacklist('POST', openids);
    expect(res.status).toBe(207);
    const report = (await res.json()) as Report;
    expect(report).toMatchObject({ requested: 22, succeeded: 20, failed: 2 });
    expect(h.fake.calls.count('batchblacklist') - before).toBe(2);
    expect(report.results.slice(0, 20).every((r) => r.ok)).toBe(true);
    expect(report.results.slice(20)).toEqual([
      expect.objectContaining({ openid: real[20], ok: false, errcode: 49003 }),
      expect.objectContaining({ openid: foreign, ok: false, errcode: 49003 }),
    ]);
    const rows = await blacklistRows(openids);
    expect(rows.map((r) => r.openid).sort()).toEqual(real.slice(0, 20).sort());
  });
});

describe('input validation (400 with a message)', () => {
  const cases: { name: string; method: string; path: string; body?: string; type?: string; match: RegExp }[] =
    [
      {
        name: 'bad openid shape',
        method: 'POST',
        path: '/admin/blacklist',
        body: '{"openids":["bad openid!"]}',
        match: /openids\.0: not an openid/,
      },
      {
        name: 'empty list',
        method: 'POST',
        path: '/admin/blacklist',
        body: '{"openids":[]}',
        match: /at least one/,
      },
      {
        name: 'too many openids',
        method: 'DELETE',
        path: '/admin/blacklist',
        body: JSON.stringify({
          openids: Array.from({ length: 1001 }, (_, i) => `oValidOpenid${String(i).padStart(6, '0')}`),
        }),
        match: /at most 1000/,
      },
      {
        name: 'not JSON',
        method: 'POST',
        path: '/admin/blacklist',
        body: '{"openids":',
        match: /not valid JSON/,
      },
      {
        name: 'no JSON content type',
        method: 'POST',
        path: '/admin/blacklist',
        body: '{"openids":["oAbcdefgh"]}',
        type: 'text/plain',
        match: /Content-Type/,
      },
      {
        name: 'URL scheme',
        method: 'POST',
        path: '/admin/shorturl',
        body: '{"long_url":"ftp://example.com/x"}',
        match: /long_url: must be an http/,
      },
      { name: 'URL missing', method: 'POST', path: '/admin/shorturl', body: '{}', match: /long_url/ },
      { name: 'lang', method: 'GET', path: '/admin/users/oAbcdefghijk?lang=fr', match: /lang/ },
      { name: 'openid in path', method: 'GET', path: '/admin/users/x', match: /openid: not an openid/ },
      { name: 'page size', method: 'GET', path: '/admin/blacklist?page_size=100000', match: /page_size/ },
      { name: 'page', method: 'GET', path: '/admin/blacklist?page=0', match: /page/ },
      {
        name: 'date format',
        method: 'GET',
        path: '/admin/api/growth?from=2024-1-1',
        match: /from: expected YYYY-MM-DD/,
      },
      {
        name: 'impossible date',
        method: 'GET',
        path: '/admin/api/growth?from=2024-02-30',
        match: /not a calendar date/,
      },
      {
        name: 'reversed range',
        method: 'GET',
        path: '/admin/api/growth?from=2024-03-02&to=2024-03-01',
        match: /from must not be after to/,
      },
      {
        name: 'range too long',
        method: 'GET',
        path: '/admin/api/growth?from=2022-01-01&to=2024-01-01',
        match: /at most 366 days/,
      },
      // One request once walked days past year 9999 (6 GB, the server died, /wx with it).
      {
        name: 'range past year 9999',
        method: 'GET',
        path: '/admin/api/growth?from=9999-12-31&to=9999-12-31',
        match: /must be between 2000-01-01 and 2099-12-31/,
      },
      {
        name: 'from alone, centuries back',
        method: 'GET',
        path: '/admin/api/growth?from=0100-01-01',
        match: /must be between 2000-01-01/,
      },
      {
        name: 'from alone, more than a year back',
        method: 'GET',
        path: '/admin/api/growth?from=2001-01-01',
        match: /at most 366 days/,
      },
      {
        name: 'page number beyond any list',
        method: 'GET',
        path: '/admin/blacklist?page=1e20',
        match: /page/,
      },
      {
        name: 'runs limit',
        method: 'GET',
        path: '/admin/runs?limit=100000',
        match: /limit/,
      },
    ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await h.app.request(c.path, {
        method: c.method,
        headers: {
          ...bearer(),
          ...(c.body !== undefined ? { 'Content-Type': c.type ?? 'application/json' } : {}),
        },
        body: c.body,
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('invalid_input');
      expect(body.message).toMatch(c.match);
    });
  }
});

describe('account utilities', () => {
  it('looks a user up live and in the table, with lang', async () => {
    const openid = h.fake.state.followerOpenids()[3]!;
    await h.deps.db.follower.create({
      data: { openid, subscribe: true, nickname: 'stored-name', qrScene: 42n },
    });
    const before = h.fake.calls.count('user/info');
    const res = await h.app.request(`/admin/users/${openid}?lang=en`, { headers: bearer() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      lang: string;
      live: { openid: string; subscribe: number };
      stored: { nickname: string; qrScene: string };
      blacklisted: boolean;
    };
    expect(h.fake.calls.count('user/info') - before).toBe(1);
    expect(body.lang).toBe('en');
    expect(body.live).toMatchObject({ openid, subscribe: 1 });
    expect(body.stored).toMatchObject({ nickname: 'stored-name', qrScene: '42' });
    expect(body.blacklisted).toBe(false);
  });

  it('refreshes one user from WeChat as an admin action: stored, and a follower_history period opened by admin', async () => {
    const openid = h.fake.state.followerOpenids()[5]!;
    const first = await h.app.request(`/admin/users/${openid}/refresh`, {
      method: 'POST',
      headers: jsonHeaders(),
    });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { result: unknown }).result).toEqual({
      inserted: 1,
      changed: 0,
      unchanged: 0,
    });
    h.fake.state.editProfile(openid, { remark: '刚改的备注' });
    const second = await h.app.request(`/admin/users/${openid}/refresh`, {
      method: 'POST',
      headers: jsonHeaders(),
    });
    const body = (await second.json()) as { result: unknown; stored: { remark: string } };
    expect(body.result).toEqual({ inserted: 0, changed: 1, unchanged: 0 });
    expect(body.stored.remark).toBe('刚改的备注');
    const periods = await h.deps.db.followerHistory.findMany({
      where: { openid },
      orderBy: { validFrom: 'asc' },
      select: { remark: true, openedBy: true, openedByAction: true, closedBy: true, closedByAction: true },
    });
    expect(
      periods.map((p) => [p.remark, p.openedBy, p.openedByAction, p.closedBy, p.closedByAction]),
    ).toEqual([
      [periods[0]?.remark, 'admin', 'user_refresh', 'admin', 'user_refresh'],
      ['刚改的备注', 'admin', 'user_refresh', null, null],
    ]);
    const foreign = await h.app.request('/admin/users/oUnknownOpenidUnknown0000/refresh', {
      method: 'POST',
      headers: bearer(),
    });
    expect(foreign.status).toBeGreaterThanOrEqual(400);
  });

  it("relays WeChat's refusal for an unknown openid next to the (absent) stored row", async () => {
    const res = await h.app.request('/admin/users/oUnknownOpenidUnknown0000', { headers: bearer() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { live: unknown; live_error: { errcode: number }; stored: unknown };
    expect(body.live).toBeNull();
    expect(body.stored).toBeNull();
    expect(body.live_error.errcode).toBe(40003);
  });

  it("surfaces WeChat's answer to shorturl plainly", async () => {
    const res = await h.app.request('/admin/shorturl', {
      method: 'POST',
      headers: jsonHeaders(),
      body: JSON.stringify({ long_url: 'https://example.com/some/long/path?x=1' }),
    });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { ok: boolean; errcode: number; errmsg: string; note: string };
    expect(body.ok).toBe(false);
    expect(body.errcode).toBe(48001);
    expect(body.errmsg).toMatch(/retired/);
    expect(body.note).toMatch(/retired .* 2021/);
  });

  it("lists WeChat's API domain IPs", async () => {
    const res = await h.app.request('/admin/ips', { headers: bearer() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ip_list: string[] };
    expect(body.ip_list.length).toBeGreaterThan(0);
    expect(body.ip_list).toContain('101.226.103.0/25');
  });
});

describe('queue board', () => {
  it('lists our queues under /admin/queues', async () => {
    const res = await h.app.request('/admin/queues/api/queues', { headers: bearer() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['events', 'sync']);
    const page = await h.app.request('/admin/queues', { headers: bearer() });
    expect(await page.text()).toContain('<base href="/admin/queues/"');
    const favicon = await h.app.request('/admin/queues/static/favicon-32x32.png', { headers: bearer() });
    expect(favicon.status).toBe(200);
    expect((await h.app.request('/admin/queues/static/favicon-32x32.png')).status).toBe(401);
  });
});
