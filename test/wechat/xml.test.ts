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

describe('parseWeChatXml: no DTD or entity declaration takes effect, whatever surrounds it', () => {
  // Before the parser refused DOCTYPEs itself, a text pre-scan stripped CDATA first: a comment
  // holding "<![CDATA[" and a later "]]>" hid the DOCTYPE from it, and the entities were expanded.
  it('refuses a DOCTYPE hidden behind a comment that contains <![CDATA[', () => {
    const forged = `<!-- <![CDATA[ --><!DOCTYPE xml [<!ENTITY a "oForgedOpenid0000000000000"><!ENTITY lt "LT">]><xml><FromUserName>&a;</FromUserName><B>&lt;</B><C><![CDATA[ ]]></C></xml>`;
    expect(() => parseWeChatXml(forged)).toThrow(/DOCTYPE and entity declarations are not accepted/);
  });

  it.each([
    ['an empty DOCTYPE', '<!DOCTYPE xml><xml><A>1</A></xml>'],
    [
      'a DOCTYPE after a PI that mentions one',
      '<?x <!DOCTYPE ?><!DOCTYPE xml [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
    ],
    ['a DOCTYPE inside the root', '<xml><!DOCTYPE x [<!ENTITY a "b">]><A>&a;</A></xml>'],
    ['a DOCTYPE after the root', '<xml><A>1</A></xml><!DOCTYPE x>'],
    [
      'a 10x expansion',
      `<!DOCTYPE x [<!ENTITY a "${'a'.repeat(100)}">]><xml><A>${'&a;'.repeat(10)}</A></xml>`,
    ],
    ['a parameter entity', '<!DOCTYPE x [<!ENTITY % p "<!ENTITY a \'b\'>"> %p;]><xml><A>&a;</A></xml>'],
    ['an external DTD', '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd"><xml><A>1</A></xml>'],
  ])('refuses %s', (_name, xml) => {
    expect(() => parseWeChatXml(xml)).toThrow(/DOCTYPE and entity declarations are not accepted/);
  });

  it('refuses markup declarations outside a DOCTYPE instead of reading them as fields', () => {
    expect(() => parseWeChatXml('<xml><!ENTITY a "b"><A>1</A></xml>')).toThrow(XmlError);
    expect(() => parseWeChatXml('<xml><A>1</A><!ELEMENT x ANY></xml>')).toThrow(XmlError);
    expect(() => parseWeChatXml('<xml><B><!ATTLIST x y CDATA ""></B></xml>')).toThrow(XmlError);
    expect(() => parseWeChatXml('<xml><a:FromUserName>o1</a:FromUserName></xml>')).toThrow(XmlError);
  });

  it('keeps DOCTYPE text that is only text (CDATA, comments)', () => {
    expect(parseWeChatXml('<!-- <!DOCTYPE x [<!ENTITY a "b">]> --><xml><A>1</A></xml>')).toEqual({ A: '1' });
    expect(parseWeChatXml('<xml><A><![CDATA[<!DOCTYPE x> &a; &#0;]]></A></xml>')).toEqual({
      A: '<!DOCTYPE x> &a; &#0;',
    });
  });

  it('refuses undeclared entities, bare ampersands and references to characters XML forbids', () => {
    expect(() => parseWeChatXml('<xml><A>&a;</A></xml>')).toThrow(/undeclared entity/);
    expect(() => parseWeChatXml('<xml><A>&nbsp;</A></xml>')).toThrow(/undeclared entity/);
    expect(() => parseWeChatXml('<xml><A>a & b</A></xml>')).toThrow(XmlError);
    for (const ref of ['&#0;', '&#x0;', '&#1;', '&#x1b;', '&#xFFFE;', '&#x110000;', '&#xD800;']) {
      expect(() => parseWeChatXml(`<xml><A>${ref}</A></xml>`), ref).toThrow(XmlError);
    }
    // XML 1.1 would allow &#1;: the 1.0 rule holds whatever the prolog claims.
    expect(() => parseWeChatXml('<?xml version="1.1"?><xml><A>&#1;</A></xml>')).toThrow(XmlError);
  });

  it('still decodes the predefined entities and character references to real characters', () => {
    expect(parseWeChatXml('<xml><A>&#x4e2d;&#25991;&#9;&lt;&amp;lt;&quot;&apos;&gt;</A></xml>').A).toBe(
      '中文\t<&lt;"\'>',
    );
  });

  it('refuses nesting deeper than WeChat ever sends', () => {
    expect(() => parseWeChatXml(`<xml>${'<a>'.repeat(20)}x${'</a>'.repeat(20)}</xml>`)).toThrow(XmlError);
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
