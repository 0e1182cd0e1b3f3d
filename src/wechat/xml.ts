/**
 * The XML WeChat pushes and accepts: a flat `<xml>` of fields, values mostly in CDATA.
 *
 * Parsing is deliberately narrow. A push is read before we know much about its sender (in
 * plaintext mode only the query string is signed, not the body), so:
 * - a DOCTYPE (and with it every ENTITY, ELEMENT, ATTLIST or NOTATION declaration) is refused by
 *   the parser itself, at the point where its tokenizer meets one: no text pre-scan that comments,
 *   CDATA or PIs could fool. WeChat never sends one. No internal entity bomb, no external entity
 *   (XXE), no redefinition of `&lt;`.
 * - references decode to XML's five predefined entities and numeric character references to XML
 *   1.0 characters only; anything else (`&foo;`, `&#0;`, a bare `&`) is refused.
 * - every value stays the string it was: MsgId (a 64-bit number), CreateTime and openids must
 *   not go through JavaScript numbers.
 * - element names are plain ASCII names (a stray `<!ENTITY ...>` inside `<xml>` is no field).
 * - malformed or truncated XML, several roots, a root other than `<xml>`, nesting deeper than
 *   MAX_DEPTH or a repeated top-level field are refused (XmlError, 400).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorFamily, errorMessage } from '../errors.ts';

export class XmlError extends errorFamily(400, false, 'bad_xml') {}

/** A WeChat message: field name -> value (nested elements, rare, are kept as their JSON text). */
export type WeChatXml = Record<string, string>;

/** Deepest nesting accepted (WeChat's deepest, SendPicsInfo > PicList > item > PicMd5Sum, is 5 with <xml>). */
const MAX_DEPTH = 8;

/** Element names WeChat uses are ASCII words; no namespaces, no markup declarations. */
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const DTD_REFUSED = 'DOCTYPE and entity declarations are not accepted';
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REFERENCE = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z_][\w.-]*))?;?/g;

/** XML 1.0's Char production: what a character reference may produce (no NUL, no C0 control but tab/LF/CR). */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * The parser's entity decoder (fast-xml-parser's `entityDecoder` hook). The parser hands every
 * DOCTYPE it tokenizes to `addInputEntities` (with or without entities in it): refusing there
 * makes the parser itself reject any DTD, wherever it sits. CDATA content never reaches `decode`.
 */
const strictEntities = {
  addInputEntities(): void {
    throw new XmlError(DTD_REFUSED);
  },
  setExternalEntities(): void {
    throw new XmlError('external entities are not accepted');
  },
  reset(): void {},
  // XML 1.1 would allow references to control characters: the 1.0 rule holds whatever the prolog says.
  setXmlVersion(): void {},
  decode(text: string): string {
    if (!text.includes('&')) return text;
    return text.replace(REFERENCE, (ref, hex?: string, dec?: string, name?: string) => {
      if (!ref.endsWith(';') || (hex === undefined && dec === undefined && name === undefined)) {
        throw new XmlError('a bare "&" (write &amp;)');
      }
      if (name !== undefined) {
        const value = PREDEFINED[name];
        if (value === undefined) throw new XmlError(`undeclared entity &${name};`);
        return value;
      }
      const cp = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
      if (!isXmlChar(cp)) throw new XmlError('a character reference to a character XML does not allow');
      return String.fromCodePoint(cp);
    });
  },
};

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  // Keep CDATA content byte for byte (a text message may start or end with spaces).
  trimValues: false,
  processEntities: true,
  entityDecoder: strictEntities,
  maxNestedTags: MAX_DEPTH,
  // Every element name, nested ones and closing tags too, as the tokenizer reads it: a declaration
  // outside a DOCTYPE (`<!ENTITY ...>`, `<!ELEMENT ...>`) would otherwise become a field named "!ENTITY".
  transformTagName: (name: string) => {
    if (!ELEMENT_NAME.test(name))
      throw new XmlError(`invalid element name ${JSON.stringify(name.slice(0, 40))}`);
    return name;
  },
});

export function parseWeChatXml(xml: string): WeChatXml {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new XmlError(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (error) {
    if (error instanceof XmlError) throw error;
    // The parser's own DOCTYPE reader may throw before it reaches addInputEntities (an external
    // or parameter entity, a broken DTD): still a declaration we refuse, so say that.
    if (/doctype|entit/i.test(errorMessage(error))) throw new XmlError(DTD_REFUSED, { cause: error });
    throw new XmlError('malformed XML', { cause: error });
  }
  if (!isObject(doc) || Object.keys(doc).length !== 1 || !('xml' in doc)) {
    throw new XmlError('expected a single <xml> root element');
  }
  const root = doc.xml;
  if (root === '' || root === undefined) return {};
  if (!isObject(root)) throw new XmlError('expected fields inside <xml>');
  const fields: WeChatXml = {};
  for (const [name, value] of Object.entries(root)) {
    if (name === '#text') continue; // whitespace between fields
    if (Array.isArray(value)) throw new XmlError(`field ${name} appears more than once`);
    fields[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return fields;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Builds `<xml>` with strings in CDATA and numbers bare (WeChat's own layout: CreateTime,
 * TimeStamp, ArticleCount are bare). A `]]>` inside a string is split across two CDATA sections.
 */
export function buildXml(fields: Record<string, string | number>): string {
  const parts = Object.entries(fields).map(([name, value]) => {
    if (!NAME.test(name)) throw new XmlError(`invalid XML field name ${JSON.stringify(name)}`);
    const body =
      typeof value === 'number' ? String(value) : `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    return `<${name}>${body}</${name}>`;
  });
  return `<xml>${parts.join('')}</xml>`;
}
