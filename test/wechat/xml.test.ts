import { describe, expect, it } from 'vitest';
import { buildXml, parseWeChatXml, XmlError } from '../../src/wechat/xml.ts';

const SUBSCRIBE = `<xml>
  <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
  <FromUserName><![CDATA[oABCD1234567890abcdefghijklm]]></FromUserName>
  <CreateTime>1700000000</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe]]></Event>
  <EventKey><![CDATA[qrscene_123123]]></EventKey>
  <Ticket><![CDATA[TICKET]]></Ticket>
</xml>`;

describe('parseWeChatXml', () => {
  it('reads a subscribe event, CDATA and bare values alike', () => {
    expect(parseWeChatXml(SUBSCRIBE)).toEqual({
      ToUserName: 'gh_123456789abc',
      FromUserName: 'oABCD1234567890abcdefghijklm',
      CreateTime: '1700000000',
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_123123',
      Ticket: 'TICKET',
    });
  });

  it('keeps ids as the exact strings they are (64-bit MsgId, leading zeros, exponents)', () => {
    const f = parseWeChatXml(
      '<xml><MsgId>9223372036854775807</MsgId><CreateTime>0170</CreateTime><EventKey>1e5</EventKey><Latitude>23.137466</Latitude></xml>',
    );
    expect(f.MsgId).toBe('9223372036854775807');
    expect(f.CreateTime).toBe('0170');
    expect(f.EventKey).toBe('1e5');
    expect(f.Latitude).toBe('23.137466');
  });

  it('keeps CDATA content verbatim, including spaces, markup and a split ]]>', () => {
    const f = parseWeChatXml(
      '<xml><Content><![CDATA[ <b>hi</b> &amp; ]]]]><![CDATA[> <!DOCTYPE x> ]]></Content></xml>',
    );
    expect(f.Content).toBe(' <b>hi</b> &amp; ]]> <!DOCTYPE x> ');
  });

  it('decodes the predefined entities outside CDATA', () => {
    expect(parseWeChatXml('<xml><A>a &amp; b &lt;c&gt;</A></xml>').A).toBe('a & b <c>');
  });

  it('refuses the billion-laughs entity bomb', () => {
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><Content>&lol3;</Content></xml>`;
    expect(() => parseWeChatXml(bomb)).toThrow(XmlError);
  });

  it('refuses an external entity (XXE)', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>';
    expect(() => parseWeChatXml(xxe)).toThrow(/DOCTYPE/);
    expect(() => parseWeChatXml('<!doctype xml><xml><A>1</A></xml>')).toThrow(XmlError);
  });

  it('refuses truncated, empty, non-XML and multi-root input', () => {
    expect(() => parseWeChatXml(SUBSCRIBE.slice(0, 120))).toThrow(XmlError);
    expect(() => parseWeChatXml('<xml><A>1</A>')).toThrow(XmlError);
    expect(() => parseWeChatXml('')).toThrow(XmlError);
    expect(() => parseWeChatXml('{"json": true}')).toThrow(XmlError);
    expect(() => parseWeChatXml('<xml><A>1</A></xml><xml><A>2</A></xml>')).toThrow(XmlError);
    expect(() => parseWeChatXml('<root><A>1</A></root>')).toThrow(/single <xml> root/);
  });

  it('refuses a repeated top-level field (which value would be true?)', () => {
    expect(() =>
      parseWeChatXml('<xml><FromUserName>a</FromUserName><FromUserName>b</FromUserName></xml>'),
    ).toThrow(/more than once/);
  });

  it('keeps a nested element as JSON text (e.g. ScanCodeInfo)', () => {
    const f = parseWeChatXml(
      '<xml><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo></xml>',
    );
    expect(JSON.parse(f.ScanCodeInfo ?? '')).toEqual({ ScanType: 'qrcode', ScanResult: '1' });
  });

  it('does not let a field named __proto__ pollute prototypes', () => {
    expect(() =>
      parseWeChatXml('<xml><__proto__><polluted>yes</polluted></__proto__><A>1</A></xml>'),
    ).toThrow(XmlError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('buildXml', () => {
  it('puts strings in CDATA and numbers bare, and parses back', () => {
    const xml = buildXml({ ToUserName: 'o1', CreateTime: 1700000000, MsgType: 'text', Content: 'a ]]> b' });
    expect(xml).toBe(
      '<xml><ToUserName><![CDATA[o1]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a ]]]]><![CDATA[> b]]></Content></xml>',
    );
    expect(parseWeChatXml(xml)).toEqual({
      ToUserName: 'o1',
      CreateTime: '1700000000',
      MsgType: 'text',
      Content: 'a ]]> b',
    });
  });

  it('refuses a field name that is not an XML name', () => {
    expect(() => buildXml({ 'a b': 'x' })).toThrow(XmlError);
    expect(() => buildXml({ '<x>': 'x' })).toThrow(XmlError);
  });
});
