/** Pure logic of the WeChat client: no Redis, no HTTP. */
import { describe, expect, it } from 'vitest';
import { beijingDate } from '../../src/calendar.ts';
import { InputError } from '../../src/errors.ts';
import { splitDateRange } from '../../src/wechat/datacube.ts';
import {
  classifyErrcode,
  redact,
  WeChatApiError,
  WeChatResponseError,
  WeChatTransportError,
} from '../../src/wechat/errors.ts';
import { backoffDelay, chunk } from '../../src/wechat/util.ts';

describe('redact', () => {
  it('blanks access_token and secret in query strings', () => {
    const url =
      'https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CR3T&x=1';
    expect(redact(url)).toBe(
      'https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=[redacted]&x=1',
    );
    expect(redact('GET /cgi-bin/user/get?access_token=ABC.def-123&next_openid=o1 failed')).toBe(
      'GET /cgi-bin/user/get?access_token=[redacted]&next_openid=o1 failed',
    );
  });

  it('blanks JSON fields and is case-insensitive', () => {
    const text = '{"access_token":"tok123","expires_in":7200,"Secret": "s"} ACCESS_TOKEN=zz';
    const out = redact(text);
    expect(out).not.toContain('tok123');
    expect(out).not.toContain('"s"');
    expect(out).not.toContain('zz');
    expect(out).toContain('"expires_in":7200');
  });

  it('leaves text without secrets alone', () => {
    expect(redact('errcode 40001 invalid credential, access_token is invalid')).toBe(
      'errcode 40001 invalid credential, access_token is invalid',
    );
  });
});

describe('errcode classification', () => {
  it.each([
    [-1, 'transient'],
    [45011, 'transient'],
    [40001, 'token_invalid'],
    [40014, 'token_invalid'],
    [42001, 'token_invalid'],
    [45009, 'permanent'],
    [48001, 'permanent'],
    [40164, 'permanent'],
    [40013, 'permanent'],
    [40125, 'permanent'],
    [61501, 'permanent'],
  ] as const)('%i is %s', (errcode, kind) => {
    expect(classifyErrcode(errcode)).toBe(kind);
    const error = new WeChatApiError('/cgi-bin/user/get', errcode, 'x');
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(kind !== 'permanent');
    expect(error.status).toBe(502);
  });

  it('explains permanent errcodes in the message', () => {
    expect(
      new WeChatApiError('/cgi-bin/user/get', 45009, 'reach max api daily quota limit').message,
    ).toContain('daily API quota reached, retry after midnight');
    expect(new WeChatApiError('/cgi-bin/user/get', 40164, 'invalid ip').message).toContain(
      "caller IP not in the account's IP whitelist",
    );
    const e = new WeChatApiError('/cgi-bin/user/get', 48001, 'api unauthorized');
    expect(e.message).toContain('errcode 48001');
    expect(e.endpoint).toBe('/cgi-bin/user/get');
    expect(e.code).toBe('wechat_api');
  });

  it('redacts an errmsg that quotes a token', () => {
    const e = new WeChatApiError('/cgi-bin/user/get', 40001, 'bad access_token=LEAKED1 rid: 1');
    expect(e.message).not.toContain('LEAKED1');
    expect(e.errmsg).not.toContain('LEAKED1');
  });

  it('transport errors: 5xx, 429, timeouts and truncation retry; other 4xx do not', () => {
    expect(new WeChatTransportError('/x', 'http_status', 'HTTP 502', 502).retryable).toBe(true);
    expect(new WeChatTransportError('/x', 'http_status', 'HTTP 502', 502).label).toBe('http_502');
    expect(new WeChatTransportError('/x', 'http_status', 'HTTP 429', 429).retryable).toBe(true);
    expect(new WeChatTransportError('/x', 'http_status', 'HTTP 404', 404).retryable).toBe(false);
    expect(new WeChatTransportError('/x', 'timeout', 'slow').retryable).toBe(true);
    expect(new WeChatTransportError('/x', 'truncated', 'cut').retryable).toBe(true);
    expect(new WeChatTransportError('/x', 'connection', 'reset', undefined, 'ECONNRESET').label).toBe(
      'econnreset',
    );
    expect(new WeChatResponseError('/x', ['a: bad']).retryable).toBe(false);
  });
});

describe('chunk', () => {
  it('splits into chunks of at most n, keeping order', () => {
    const items = Array.from({ length: 205 }, (_, i) => i);
    const parts = chunk(items, 100);
    expect(parts.map((p) => p.length)).toEqual([100, 100, 5]);
    expect(parts.flat()).toEqual(items);
    expect(chunk([], 20)).toEqual([]);
    expect(chunk([1, 2], 20)).toEqual([[1, 2]]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and jitters over [0, ceiling)', () => {
    expect(backoffDelay(1, 200, 10_000, () => 0.999999)).toBe(199);
    expect(backoffDelay(2, 200, 10_000, () => 0.999999)).toBe(399);
    expect(backoffDelay(4, 200, 10_000, () => 0.5)).toBe(800);
    expect(backoffDelay(20, 200, 10_000, () => 0.999999)).toBe(9999);
    expect(backoffDelay(3, 200, 10_000, () => 0)).toBe(0);
  });
});

describe('splitDateRange', () => {
  it('splits into <= 7-day windows', () => {
    const { windows, clippedTo } = splitDateRange('2024-01-01', '2024-01-20', { today: '2024-03-01' });
    expect(windows).toEqual([
      { begin_date: '2024-01-01', end_date: '2024-01-07' },
      { begin_date: '2024-01-08', end_date: '2024-01-14' },
      { begin_date: '2024-01-15', end_date: '2024-01-20' },
    ]);
    expect(clippedTo).toBeUndefined();
  });

  it('crosses month and leap-day boundaries', () => {
    const { windows } = splitDateRange('2024-02-26', '2024-03-04', { today: '2024-06-01' });
    expect(windows).toEqual([
      { begin_date: '2024-02-26', end_date: '2024-03-03' },
      { begin_date: '2024-03-04', end_date: '2024-03-04' },
    ]);
  });

  it('clips to yesterday and says so', () => {
    const result = splitDateRange('2024-05-01', '2024-05-31', { today: '2024-05-10' });
    expect(result.clippedTo).toBe('2024-05-09');
    expect(result.windows).toEqual([
      { begin_date: '2024-05-01', end_date: '2024-05-07' },
      { begin_date: '2024-05-08', end_date: '2024-05-09' },
    ]);
    const nothing = splitDateRange('2024-05-10', '2024-05-12', { today: '2024-05-10' });
    expect(nothing.windows).toEqual([]);
    expect(nothing.clippedTo).toBe('2024-05-09');
  });

  it('uses the Beijing calendar for today', () => {
    // 2024-05-09 17:00 UTC is already 2024-05-10 01:00 in Beijing.
    const at = new Date('2024-05-09T17:00:00Z');
    expect(beijingDate(at)).toBe('2024-05-10');
    expect(splitDateRange('2024-05-01', '2024-05-31', { today: at }).clippedTo).toBe('2024-05-09');
    expect(beijingDate(new Date('2024-05-09T15:59:59Z'))).toBe('2024-05-09');
  });

  it('rejects bad dates and reversed ranges', () => {
    expect(() => splitDateRange('2024-02-30', '2024-03-01', { today: '2024-06-01' })).toThrow(InputError);
    expect(() => splitDateRange('2024/01/01', '2024-03-01', { today: '2024-06-01' })).toThrow(InputError);
    expect(() => splitDateRange('2024-03-02', '2024-03-01', { today: '2024-06-01' })).toThrow(InputError);
  });
});
