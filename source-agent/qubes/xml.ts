// A small XML reader for the files Qubes writes (qubes.xml, firewall.xml): elements, attributes,
// text and the five predefined entities. No DTDs, namespaces or processing beyond skipping `<?…?>`
// and comments. The tar that carries qubes.xml comes from the archive (untrusted), so the reader
// throws QubesMetadataError on anything it does not understand rather than guessing.

import { QubesMetadataError } from '../errors.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The character a numeric reference names; a code point outside Unicode (or a lone surrogate) is refused, not a RangeError. */
function codePoint(whole: string, value: number): string {
  if (!Number.isSafeInteger(value) || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
    throw new QubesMetadataError(`bad XML character reference ${whole.slice(0, 20)}`);
  return String.fromCodePoint(value);
}

/** Deeper nesting than Qubes ever writes (qubes.xml is about 5 deep): refused, so no reader of the tree recurses without bound. */
export const MAX_XML_DEPTH = 64;

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return codePoint(whole, Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return codePoint(whole, Number.parseInt(name.slice(1), 10));
    const known = ENTITIES[name];
    if (known === undefined) throw new QubesMetadataError(`unknown XML entity ${whole}`);
    return known;
  });
}

export function encodeXmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ATTRIBUTE = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/;

/** Far more than any qubes.xml or firewall.xml: a larger document from the archive is refused, not parsed. */
export const MAX_XML_CHARS = 64 * 1024 * 1024;

/** Parses a document and returns its root element. */
export function parseXml(untrustedText: string): XmlElement {
  if (untrustedText.length > MAX_XML_CHARS) throw new QubesMetadataError(`the XML document is larger than ${MAX_XML_CHARS} characters`);
  let at = 0;
  const text = untrustedText;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const fail = (what: string): never => {
    throw new QubesMetadataError(`bad XML at offset ${at}: ${what}`);
  };
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const chunk = text.slice(at, lt === -1 ? text.length : lt);
    if (chunk.trim() !== '') {
      const top = stack.at(-1) ?? fail('text outside the root element');
      top.text += decodeEntities(chunk);
    }
    if (lt === -1) break;
    at = lt;
    if (text.startsWith('<?', at)) {
      const end = text.indexOf('?>', at);
      if (end === -1) fail('unterminated <?');
      at = end + 2;
    } else if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at);
      if (end === -1) fail('unterminated comment');
      at = end + 3;
    } else if (text.startsWith('</', at)) {
      const end = text.indexOf('>', at);
      const name = text.slice(at + 2, end).trim();
      const open = stack.pop() ?? fail(`stray </${name}>`);
      if (open.name !== name) fail(`</${name}> closes <${open.name}>`);
      at = end + 1;
    } else if (text.startsWith('<!', at)) {
      fail('DTDs and CDATA are not supported');
    } else {
      const name = NAME.exec(text.slice(at + 1))?.[0] ?? fail('bad element name');
      at += 1 + name.length;
      const element: XmlElement = { name, attributes: {}, children: [], text: '' };
      for (;;) {
        const attribute = ATTRIBUTE.exec(text.slice(at, at + 4096));
        if (!attribute) break;
        element.attributes[attribute[1]!] = decodeEntities(attribute[3] ?? attribute[4] ?? '');
        at += attribute[0].length;
      }
      while (/\s/.test(text[at] ?? '')) at++;
      const parent = stack.at(-1);
      if (parent) parent.children.push(element);
      else if (root) fail('a second root element');
      else root = element;
      if (text.startsWith('/>', at)) at += 2;
      else if (text[at] === '>') {
        at += 1;
        if (stack.length >= MAX_XML_DEPTH) fail(`elements nested deeper than ${MAX_XML_DEPTH}`);
        stack.push(element);
      } else fail(`bad tag <${name}`);
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> is not closed`);
  return root ?? fail('no root element');
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => c.name === name) : [];
}
