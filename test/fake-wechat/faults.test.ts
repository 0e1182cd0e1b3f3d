/** Fault injection: configured rates happen, per endpoint or '*', changeable at run time over the admin route. */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Faults, parseFaultSpec } from '../../src/fake-wechat/index.ts';
import { ApiDomainIpResponse, CpsGeneralResponse, ErrorEnvelope } from '../../src/wechat/schemas.ts';
import { admin, fakePerFile, fetchToken } from '../support/fake-wechat.ts';

const wx = fakePerFile({ followers: 50, seed: 'faults' });
let token: string;

beforeAll(async () => {
  token = await fetchToken(wx);
});
afterEach(() => wx.faults.clear());

type Outcome = 'ok' | `errcode ${number}` | `http ${number}` | 'dropped' | 'truncated' | 'html';

async function call(
  path = '/cgi-bin/get_api_domain_ip',
  query: Record<string, string> = {},
): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(`${wx.url}${path}?${new URLSearchParams({ access_token: token, ...query })}`);
  } catch {
    return 'dropped';
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    return 'dropped';
  }
  if (response.status !== 200) return `http ${response.status}`;
  if (!response.headers.get('content-type')?.includes('json')) return 'html';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'truncated';
  }
  const envelope = ErrorEnvelope.safeParse(body);
  if (envelope.success) return `errcode ${envelope.data.errcode}`;
  ApiDomainIpResponse.parse(body);
  return 'ok';
}

async function tally(n: number, path?: string): Promise<Map<Outcome, number>> {
  const counts = new Map<Outcome, number>();
  for (let i = 0; i < n; i++) {
    const outcome = await call(path);
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  return counts;
}

describe('fault rates', () => {
  it('10% errcode -1 and 5% HTTP 502 on every endpoint happen at about those rates', async () => {
    wx.faults.set('*', { errcode: -1, errorRate: 0.1, http502Rate: 0.05 });
    const counts = await tally(1000);
    expect(counts.get('errcode -1')).toBeGreaterThan(65);
    expect(counts.get('errcode -1')).toBeLessThan(135);
    expect(counts.get('http 502')).toBeGreaterThan(25);
    expect(counts.get('http 502')).toBeLessThan(75);
    expect(counts.get('ok')! + counts.get('errcode -1')! + counts.get('http 502')!).toBe(1000);
  });

  it('drops connections, truncates bodies, answers HTML and HTTP 500 when asked', async () => {
    wx.faults.set('*', { dropRate: 0.25, truncateRate: 0.25, nonJsonRate: 0.25, http500Rate: 0.25 });
    const counts = await tally(200);
    for (const kind of ['dropped', 'truncated', 'html', 'http 500'] as const) {
      expect(counts.get(kind)).toBeGreaterThan(25);
    }
    expect(counts.get('ok')).toBeUndefined();
  });

  it('an endpoint rule overrides the * rule', async () => {
    wx.faults.set('*', { errcode: 45009, errorRate: 1 });
    wx.faults.set('get_api_domain_ip', { errorRate: 0 });
    expect(await call()).toBe('ok');
    expect(await call('/cgi-bin/user/info', { openid: wx.state.followerOpenids()[0]! })).toBe(
      'errcode 45009',
    );
  });

  it('publisher/stat reports injected errors in base_resp', async () => {
    wx.faults.set('publisher_cps_general', { errcode: 45011, errorRate: 1 });
    const response = await fetch(
      `${wx.url}/publisher/stat?${new URLSearchParams({ access_token: token, action: 'publisher_cps_general', page: '1', page_size: '10', start_date: '2024-01-01', end_date: '2024-01-02' })}`,
    );
    const parsed = CpsGeneralResponse.parse(await response.json());
    expect(parsed.base_resp.ret).toBe(45011);
  });

  it('batchget leaves users out of its answer at omitRate (and answers the rest)', async () => {
    const openids = wx.state.followerOpenids().slice(0, 40);
    const batchget = async () => {
      const response = await fetch(`${wx.url}/cgi-bin/user/info/batchget?access_token=${token}`, {
        method: 'POST',
        body: JSON.stringify({ user_list: openids.map((openid) => ({ openid })) }),
      });
      return ((await response.json()) as { user_info_list: { openid: string }[] }).user_info_list;
    };
    wx.faults.set('user/info/batchget', { omitRate: 1 });
    expect(await batchget()).toEqual([]);
    wx.faults.set('user/info/batchget', { omitRate: 0.5 });
    const some = (await batchget()).map((u) => u.openid);
    expect(some.length).toBeGreaterThan(5);
    expect(some.length).toBeLessThan(35);
    expect(some.every((openid) => openids.includes(openid))).toBe(true);
    wx.faults.clear('user/info/batchget');
    expect(await batchget()).toHaveLength(40);
    expect(parseFaultSpec('user/info/batchget:omit=0.01')).toEqual({
      target: 'user/info/batchget',
      rule: { omitRate: 0.01 },
    });
  });

  it('an injected 40001 looks like a token WeChat no longer accepts', async () => {
    wx.faults.set('user/get', { errcode: 40001, errorRate: 1 });
    expect(await call('/cgi-bin/user/get')).toBe('errcode 40001');
    expect(await call()).toBe('ok');
  });
});

describe('run-time changes over the admin route', () => {
  it('PUT, PATCH and DELETE /__fake/faults change what the next calls see', async () => {
    const put = await admin(wx, 'PUT', '/faults', { rules: { '*': { errcode: -1, errorRate: 1 } } });
    expect(put.status).toBe(200);
    expect(await call()).toBe('errcode -1');
    const patch = await admin(wx, 'PATCH', `/faults/${encodeURIComponent('get_api_domain_ip')}`, {
      errcode: 45011,
    });
    expect(patch.body).toMatchObject({ rules: { get_api_domain_ip: { errcode: 45011 } } });
    expect(await call()).toBe('errcode 45011');
    await admin(wx, 'PATCH', `/faults/${encodeURIComponent('user/get')}`, { http500Rate: 1 });
    expect(await call('/cgi-bin/user/get')).toBe('http 500');
    await admin(wx, 'DELETE', `/faults/${encodeURIComponent('user/get')}`);
    expect(await call('/cgi-bin/user/get')).toBe('errcode -1');
    await admin(wx, 'DELETE', '/faults');
    expect(await call()).toBe('ok');
    expect((await admin(wx, 'GET', '/faults')).body).toEqual({ rules: {}, tokenExpiryEveryS: null });
  });

  it('rejects an invalid rule with 400 and keeps the old one', async () => {
    await admin(wx, 'PUT', '/faults', { rules: { '*': { errcode: -1, errorRate: 1 } } });
    expect((await admin(wx, 'PATCH', '/faults/%2A', { errorRate: 2 })).status).toBe(400);
    expect((await admin(wx, 'PATCH', '/faults/nope', { errorRate: 0.5 })).status).toBe(400);
    expect((await admin(wx, 'PUT', '/faults', { rules: { '*': { bogus: 1 } } })).status).toBe(400);
    expect(await call()).toBe('errcode -1');
  });
});

describe('fault engine (unit)', () => {
  it('is deterministic for a seed and mixes latency, jitter and spikes', () => {
    const make = () =>
      new Faults(
        7,
        () => 0,
        () => {},
        {
          rules: {
            '*': { latencyMs: 100, jitterMs: 50, spikeRate: 0.1, spikeMs: 5000, errcode: -1, errorRate: 0.3 },
          },
        },
      );
    const a = make();
    const b = make();
    const runA = Array.from({ length: 500 }, () => a.decide('user/get'));
    const runB = Array.from({ length: 500 }, () => b.decide('user/get'));
    expect(runA).toEqual(runB);
    expect(runA.every((d) => d.delayMs >= 100 && d.delayMs <= 5150)).toBe(true);
    const spikes = runA.filter((d) => d.delayMs >= 5100).length;
    expect(spikes).toBeGreaterThan(20);
    expect(spikes).toBeLessThan(90);
    const errors = runA.filter((d) => d.action.kind === 'errcode').length;
    expect(errors).toBeGreaterThan(110);
    expect(errors).toBeLessThan(190);
  });

  it('parses the CLI form', () => {
    expect(parseFaultSpec('*:errcode=-1:rate=0.1')).toEqual({
      target: '*',
      rule: { errcode: -1, errorRate: 0.1 },
    });
    expect(parseFaultSpec('user/get:http=502:rate=0.05')).toEqual({
      target: 'user/get',
      rule: { http502Rate: 0.05 },
    });
    expect(parseFaultSpec('*:latency=50:jitter=20:drop=0.01')).toEqual({
      target: '*',
      rule: { latencyMs: 50, jitterMs: 20, dropRate: 0.01 },
    });
    expect(() => parseFaultSpec('*:errcode=x')).toThrow(/bad fault spec/);
    expect(() => parseFaultSpec('nowhere:drop=0.1')).toThrow(/invalid fault/);
    expect(() => parseFaultSpec('*:http=404')).toThrow(/500 or 502/);
  });
});
