/**
 * The XML WeChat pushes and accepts: a flat `<xml>` of fields, values mostly in CDATA.
 *
 * Parsing is deliberately narrow. A push is read before we know much about its sender (in
 * plaintext mode only the query string is signed, not the body), so:
 * - any DOCTYPE or ENTITY declaration is refused outright: no internal entity bombs
 *   ("billion laughs"), no external entities (XXE). WeChat never sends one.
 * - only XML's five predefined entities are decoded; nothing expands.
 * - every value stays the string it was: MsgId (a 64-bit number), CreateTime and openids must
 *   not go through JavaScript numbers.
 * - malformed or truncated XML, several roots, a root other than `<xml>` or a repeated top-level
 *   field are refused (XmlError, 400).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { WxsyncError } from '../errors.ts';

export class XmlError extends WxsyncError {
  readonly status = 400;
  readonly retryable = false;
  readonly code = 'bad_xml';
}

/** A WeChat message: field name -> value (nested elements, rare, are kept as their JSON text). */
export type WeChatXml = Record<string, string>;

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  // Keep CDATA content byte for byte (a text message may start or end with spaces).
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  maxNestedTags: 8,
});

const CDATA = /<!\[CDATA\[[\s\S]*?\]\]>/g;
const DECLARATION = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

export function parseWeChatXml(xml: string): WeChatXml {
  // CDATA is stripped before the check so a user's text message that mentions "<!DOCTYPE" passes.
  if (DECLARATION.test(xml.replace(CDATA, '')))
    throw new XmlError('DOCTYPE and entity declarations are not accepted');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new XmlError(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (error) {
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
