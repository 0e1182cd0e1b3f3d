/** Every endpoint of the fake answers WeChat's shapes (parsed by src/wechat/schemas.ts), limits and error codes. */
import { beforeAll, describe, expect, it } from 'vitest';
import { addDays, beijingYesterday } from '../../src/calendar.ts';
import {
  ApiDomainIpResponse,
  BatchGetResponse,
  CpsGeneralResponse,
  ErrorEnvelope,
  Openid,
  OpenidPage,
  SettlementResponse,
  TokenResponse,
  UserCumulateResponse,
  UserInfo,
  UserSummaryResponse,
} from '../../src/wechat/schemas.ts';
import { CREDS, fakePerFile, fetchToken, getJson, postJson } from '../support/fake-wechat.ts';

const wx = fakePerFile({ followers: 500, blacklist: 30, blacklistPageSize: 10, seed: 'endpoints' });
let token: string;
const q = () => ({ access_token: token });
const yesterday = beijingYesterday(new Date());
const daysAgo = (n: number) => addDays(yesterday, -n);

beforeAll(async () => {
  token = await fetchToken(wx);
});

function errcodeOf(body: unknown): number {
  return ErrorEnvelope.parse(body).errcode;
}

describe('token', () => {
  it('issues a token with expires_in', async () => {
    const body = await getJson(wx, '/cgi-bin/token', {
      grant_type: 'client_credential',
      appid: CREDS.appId,
      secret: CREDS.appSecret,
    });
    const parsed = TokenResponse.parse(body);
    expect(parsed.expires_in).toBe(7200);
    expect(parsed.access_token.length).toBeGreaterThan(64);
    token = parsed.access_token;
  });
  it('rejects a wrong appid with 40013 and a wrong secret with 40125', async () => {
    const base = { grant_type: 'client_credential', appid: CREDS.appId, secret: CREDS.appSecret };
    expect(errcodeOf(await getJson(wx, '/cgi-bin/token', { ...base, appid: 'wx0000000000000000' }))).toBe(
      40013,
    );
    expect(errcodeOf(await getJson(wx, '/cgi-bin/token', { ...base, secret: 'nope' }))).toBe(40125);
    expect(errcodeOf(await getJson(wx, '/cgi-bin/token', { ...base, grant_type: 'x' }))).toBe(40002);
  });
  it('answers 41001 without a token and 40001 with an unknown one', async () => {
    expect(errcodeOf(await getJson(wx, '/cgi-bin/get_api_domain_ip'))).toBe(41001);
    expect(errcodeOf(await getJson(wx, '/cgi-bin/get_api_domain_ip', { access_token: 'made-up' }))).toBe(
      40001,
    );
  });
});

describe('misc', () => {
  it('get_api_domain_ip lists addresses', async () => {
    const parsed = ApiDomainIpResponse.parse(await getJson(wx, '/cgi-bin/get_api_domain_ip', q()));
    expect(parsed.ip_list.length).toBeGreaterThan(0);
  });
  it('shorturl answers an error (retired by WeChat in 2021)', async () => {
    const body = await postJson(
      wx,
      '/cgi-bin/shorturl',
      { action: 'long2short', long_url: 'https://example.com' },
      q(),
    );
    expect(errcodeOf(body)).toBe(48001);
  });
});

describe('users', () => {
  it('user/info answers a full profile for a follower and subscribe 0 for an ex-follower', async () => {
    const [openid] = wx.state.followerOpenids();
    const info = UserInfo.parse(
      await getJson(wx, '/cgi-bin/user/info', { ...q(), openid: openid!, lang: 'zh_CN' }),
    );
    expect(info.subscribe).toBe(1);
    expect(info.openid).toBe(openid);
    expect(info.subscribe_scene).toMatch(/^ADD_SCENE_/);
    expect(typeof info.subscribe_time).toBe('number');
    const [gone] = wx.state.exFollowerOpenids();
    const left = await getJson(wx, '/cgi-bin/user/info', { ...q(), openid: gone! });
    expect(UserInfo.parse(left).subscribe).toBe(0);
    expect(Object.keys(left as object).sort()).toEqual(
      wx.state.people.hasUnionid(wx.state.indexOf(gone!)!)
        ? ['openid', 'subscribe', 'unionid']
        : ['openid', 'subscribe'],
    );
  });
  it('user/info rejects an openid of another account with 40003', async () => {
    expect(
      errcodeOf(await getJson(wx, '/cgi-bin/user/info', { ...q(), openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M' })),
    ).toBe(40003);
  });
  it('batchget answers up to 100 profiles in request order, ex-followers as {subscribe: 0, openid[, unionid]}', async () => {
    const followers = wx.state.followerOpenids().slice(0, 95);
    const gone = wx.state.exFollowerOpenids().slice(0, 5);
    const asked = [...gone, ...followers];
    const body = await postJson(
      wx,
      '/cgi-bin/user/info/batchget',
      { user_list: asked.map((openid) => ({ openid, lang: 'zh_CN' })) },
      q(),
    );
    const parsed = BatchGetResponse.parse(body);
    expect(parsed.user_info_list.map((u) => u.openid)).toEqual(asked);
    expect(
      parsed.user_info_list.slice(0, 5).every((u) => u.subscribe === 0 && u.nickname === undefined),
    ).toBe(true);
    expect(parsed.user_info_list.slice(5).every((u) => u.subscribe === 1)).toBe(true);
    expect(wx.calls.maxBatch('user/info/batchget')).toBe(100);
  });
  it('batchget refuses 101 users (40032), an empty list, bad JSON (47001) and foreign openids (40003)', async () => {
    const openids = wx.state.followerOpenids().slice(0, 101);
    expect(
      errcodeOf(
        await postJson(
          wx,
          '/cgi-bin/user/info/batchget',
          { user_list: openids.map((openid) => ({ openid })) },
          q(),
        ),
      ),
    ).toBe(40032);
    expect(wx.calls.maxBatch('user/info/batchget')).toBe(101);
    expect(errcodeOf(await postJson(wx, '/cgi-bin/user/info/batchget', { user_list: [] }, q()))).toBe(40032);
    expect(errcodeOf(await postJson(wx, '/cgi-bin/user/info/batchget', '{not json', q()))).toBe(47001);
    expect(errcodeOf(await postJson(wx, '/cgi-bin/user/info/batchget', '', q()))).toBe(44002);
    const foreign = [{ openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M' }];
    expect(errcodeOf(await postJson(wx, '/cgi-bin/user/info/batchget', { user_list: foreign }, q()))).toBe(
      40003,
    );
  });
  it('user/get answers OpenidPage with 28-character openids, and 40003 for a foreign next_openid', async () => {
    const page = OpenidPage.parse(await getJson(wx, '/cgi-bin/user/get', q()));
    expect(page.total).toBe(500);
    expect(page.count).toBe(500);
    expect(page.data?.openid.every((o) => o.length === 28 && Openid.safeParse(o).success)).toBe(true);
    expect(page.next_openid).toBe(page.data?.openid.at(-1));
    const last = OpenidPage.parse(
      await getJson(wx, '/cgi-bin/user/get', { ...q(), next_openid: page.next_openid }),
    );
    expect(last).toEqual({ total: 500, count: 0, next_openid: '' });
    expect(
      errcodeOf(
        await getJson(wx, '/cgi-bin/user/get', { ...q(), next_openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M' }),
      ),
    ).toBe(40003);
  });
});

describe('blacklist', () => {
  it('getblacklist pages by blacklistPageSize following begin_openid', async () => {
    const seen: string[] = [];
    let begin = '';
    let calls = 0;
    for (;;) {
      const page = OpenidPage.parse(
        await postJson(wx, '/cgi-bin/tags/members/getblacklist', { begin_openid: begin }, q()),
      );
      calls++;
      expect(page.total).toBe(30);
      if (page.count === 0) break;
      expect(page.count).toBeLessThanOrEqual(10);
      seen.push(...page.data!.openid);
      begin = page.next_openid;
    }
    expect(calls).toBe(4);
    expect(seen).toEqual(wx.state.blacklistOpenids());
  });
  it('batchblacklist and batchunblacklist change the state, at most 20 per call, 49003 for a foreign openid', async () => {
    const candidates = wx.state
      .followerOpenids()
      .filter((o) => !wx.state.blacklistOpenids().includes(o))
      .slice(0, 21);
    expect(
      errcodeOf(await postJson(wx, '/cgi-bin/tags/members/batchblacklist', { openid_list: candidates }, q())),
    ).toBe(40032);
    expect(wx.calls.maxBatch('batchblacklist')).toBe(21);
    expect(wx.state.blacklistOpenids()).toHaveLength(30);
    const twenty = candidates.slice(0, 20);
    expect(await postJson(wx, '/cgi-bin/tags/members/batchblacklist', { openid_list: twenty }, q())).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect(wx.state.blacklistOpenids()).toHaveLength(50);
    expect(twenty.every((o) => wx.state.blacklistOpenids().includes(o))).toBe(true);
    const withForeign = [candidates[20]!, 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M'];
    expect(
      errcodeOf(
        await postJson(wx, '/cgi-bin/tags/members/batchblacklist', { openid_list: withForeign }, q()),
      ),
    ).toBe(49003);
    expect(wx.state.blacklistOpenids()).not.toContain(candidates[20]);
    expect(
      await postJson(wx, '/cgi-bin/tags/members/batchunblacklist', { openid_list: twenty }, q()),
    ).toEqual({ errcode: 0, errmsg: 'ok' });
    expect(wx.state.blacklistOpenids()).toHaveLength(30);
    const page = OpenidPage.parse(await postJson(wx, '/cgi-bin/tags/members/getblacklist', {}, q()));
    expect(page.data!.openid.some((o) => twenty.includes(o))).toBe(false);
  });
});

describe('datacube', () => {
  it('getusersummary and getusercumulate answer 7 days ending yesterday, consistent with each other', async () => {
    const range = { begin_date: daysAgo(6), end_date: yesterday };
    const summary = UserSummaryResponse.parse(await postJson(wx, '/datacube/getusersummary', range, q()));
    const cumulate = UserCumulateResponse.parse(await postJson(wx, '/datacube/getusercumulate', range, q()));
    expect(cumulate.list.map((r) => r.ref_date)).toEqual([6, 5, 4, 3, 2, 1, 0].map(daysAgo));
    expect(cumulate.list.at(-1)!.cumulate_user).toBe(500);
    for (let i = 1; i < cumulate.list.length; i++) {
      const day = cumulate.list[i]!.ref_date;
      const net = summary.list
        .filter((r) => r.ref_date === day)
        .reduce((s, r) => s + r.new_user - r.cancel_user, 0);
      expect(cumulate.list[i]!.cumulate_user).toBe(cumulate.list[i - 1]!.cumulate_user + net);
    }
    expect(summary.list.every((r) => r.ref_date >= range.begin_date && r.ref_date <= range.end_date)).toBe(
      true,
    );
  });
  it('answers 61501 beyond 7 days, reversed, or past yesterday, and 61500 for a bad date', async () => {
    for (const path of ['/datacube/getusersummary', '/datacube/getusercumulate']) {
      expect(errcodeOf(await postJson(wx, path, { begin_date: daysAgo(7), end_date: yesterday }, q()))).toBe(
        61501,
      );
      expect(errcodeOf(await postJson(wx, path, { begin_date: yesterday, end_date: daysAgo(1) }, q()))).toBe(
        61501,
      );
      expect(errcodeOf(await postJson(wx, path, { begin_date: yesterday, end_date: daysAgo(-1) }, q()))).toBe(
        61501,
      );
      expect(
        errcodeOf(await postJson(wx, path, { begin_date: '2024/01/01', end_date: yesterday }, q())),
      ).toBe(61500);
      expect(
        errcodeOf(await postJson(wx, path, { begin_date: '2024-02-30', end_date: '2024-03-01' }, q())),
      ).toBe(61500);
    }
  });
});

describe('publisher/stat', () => {
  const stat = (query: Record<string, string>) => getJson(wx, '/publisher/stat', { ...q(), ...query });
  it('publisher_cps_general pages daily rows with a summary and total_num', async () => {
    const range = { start_date: daysAgo(29), end_date: yesterday };
    const all: string[] = [];
    let total = 0;
    for (let page = 1; ; page++) {
      const parsed = CpsGeneralResponse.parse(
        await stat({ action: 'publisher_cps_general', page: String(page), page_size: '7', ...range }),
      );
      expect(parsed.base_resp.ret).toBe(0);
      total = parsed.total_num;
      if (parsed.list.length === 0) break;
      all.push(...parsed.list.map((r) => r.date));
    }
    expect(total).toBe(30);
    expect(all).toEqual([...Array(30).keys()].map((i) => daysAgo(29 - i)));
  });
  it('publisher_settlement answers settlements and totals', async () => {
    const parsed = SettlementResponse.parse(
      await stat({
        action: 'publisher_settlement',
        page: '1',
        page_size: '90',
        start_date: daysAgo(59),
        end_date: yesterday,
      }),
    );
    expect(parsed.base_resp.ret).toBe(0);
    expect(parsed.total_num).toBe(parsed.settlement_list.length);
    expect(parsed.total_num).toBeGreaterThan(0);
    for (const s of parsed.settlement_list) {
      expect(s.settled_revenue).toBe(
        s.slot_revenue.reduce((sum, slot) => sum + slot.slot_settled_revenue, 0),
      );
    }
  });
  it('reports bad paging and dates in base_resp, not errcode', async () => {
    const range = { start_date: daysAgo(6), end_date: yesterday };
    const big = CpsGeneralResponse.parse(
      await stat({ action: 'publisher_cps_general', page: '1', page_size: '91', ...range }),
    );
    expect(big.base_resp.ret).not.toBe(0);
    const reversed = SettlementResponse.parse(
      await stat({
        action: 'publisher_settlement',
        page: '1',
        page_size: '10',
        start_date: yesterday,
        end_date: daysAgo(3),
      }),
    );
    expect(reversed.base_resp.ret).not.toBe(0);
    const zero = CpsGeneralResponse.parse(
      await stat({ action: 'publisher_cps_general', page: '0', page_size: '10', ...range }),
    );
    expect(zero.base_resp.ret).not.toBe(0);
  });
  it('checks the token like every endpoint', async () => {
    const body = await getJson(wx, '/publisher/stat', {
      action: 'publisher_cps_general',
      access_token: 'stale',
      page: '1',
      page_size: '10',
    });
    expect(errcodeOf(body)).toBe(40001);
  });
});
