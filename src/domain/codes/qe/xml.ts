/**
 * A minimal XML reader for the files QE writes (data-file-schema.xml): a well-formedness check, so that a
 * truncated file fails, and a tree with lookups for the few values read from it.
 */
import { asLogical, toNumber } from './text.ts';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** An element whose end tag is still to come, with its text so far. */
interface OpenElement {
  el: XmlElement;
  text: string[];
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, ent: string) => {
    if (ent.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(Number.parseInt(ent.slice(1), 10));
    return XML_ENTITIES[ent] ?? whole;
  });
}

const XML_NAME = /^[A-Za-z_:][-\w:.]*$/;

export function parseXmlDocument(src: string): XmlElement {
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;
  let rootClosed = false;
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt === -1 ? src.length : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text.push(text);
      else if (text.trim()) throw new Error('text outside the root element');
    }
    if (lt === -1) break;
    const afterMarkup = skipMarkup(src, lt, stack[stack.length - 1]);
    if (afterMarkup !== undefined) {
      i = afterMarkup;
      continue;
    }
    const end = tagEnd(src, lt);
    const inner = src.slice(lt + 1, end);
    i = end + 1;
    if (inner.startsWith('/')) {
      closeElement(stack, inner.slice(1).trim());
      if (stack.length === 0) rootClosed = true;
      continue;
    }
    const { el, selfClosing } = startTag(inner);
    const parent = stack[stack.length - 1];
    if (parent) parent.el.children.push(el);
    else {
      if (root || rootClosed) throw new Error('more than one root element');
      root = el;
    }
    if (selfClosing) {
      if (!parent) rootClosed = true;
    } else stack.push({ el, text: [] });
  }
  if (stack.length > 0) throw new Error(`unclosed element <${stack[stack.length - 1]?.el.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

/**
 * Comments, CDATA (its text goes to `top`), processing instructions and declarations starting at `lt`: the index
 * after them, or undefined when `lt` starts a tag.
 */
function skipMarkup(src: string, lt: number, top: OpenElement | undefined): number | undefined {
  if (src.startsWith('<!--', lt)) {
    const end = src.indexOf('-->', lt + 4);
    if (end < 0) throw new Error('unterminated comment');
    return end + 3;
  }
  if (src.startsWith('<![CDATA[', lt)) {
    const end = src.indexOf(']]>', lt + 9);
    if (end < 0) throw new Error('unterminated CDATA');
    if (!top) throw new Error('CDATA outside the root element');
    top.text.push(src.slice(lt + 9, end));
    return end + 3;
  }
  if (src.startsWith('<?', lt)) {
    const end = src.indexOf('?>', lt + 2);
    if (end < 0) throw new Error('unterminated processing instruction');
    return end + 2;
  }
  if (src.startsWith('<!', lt)) {
    // DOCTYPE (an internal subset in [...] is skipped as a whole)
    const bracket = src.indexOf('[', lt);
    const close = src.indexOf('>', lt);
    if (close < 0) throw new Error('unterminated declaration');
    if (bracket >= 0 && bracket < close) {
      const end = src.indexOf(']>', bracket);
      if (end < 0) throw new Error('unterminated declaration');
      return end + 2;
    }
    return close + 1;
  }
  return undefined;
}

/** The index of the `>` that ends the tag opened at `lt` (a `>` inside quotes does not). */
function tagEnd(src: string, lt: number): number {
  let quote = '';
  for (let j = lt + 1; j < src.length; j++) {
    const c = src[j];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j;
    else if (c === '<') throw new Error('unexpected < inside a tag');
  }
  throw new Error('unterminated tag');
}

function closeElement(stack: OpenElement[], name: string): void {
  const top = stack.pop();
  if (!top || top.el.name !== name) throw new Error(`mismatched closing tag </${name}>`);
  top.el.text = decodeEntities(top.text.join(''));
}

/** A start tag's inside (between `<` and `>`) → its element, without children or text yet. */
function startTag(inner: string): { el: XmlElement; selfClosing: boolean } {
  const selfClosing = inner.endsWith('/');
  const body = selfClosing ? inner.slice(0, -1) : inner;
  const nameMatch = /^\s*([^\s/>]+)/.exec(body);
  const name = nameMatch?.[1];
  if (!name || !XML_NAME.test(name)) throw new Error('invalid element name');
  const attrs: Record<string, string> = {};
  const rest = body.slice((nameMatch?.index ?? 0) + (nameMatch?.[0].length ?? 0));
  const attrRe = /\s*([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/gy;
  let pos = 0;
  while (pos < rest.length) {
    if (!rest.slice(pos).trim()) break;
    attrRe.lastIndex = pos;
    const m = attrRe.exec(rest);
    if (!m || !XML_NAME.test(m[1] ?? '')) throw new Error(`invalid attributes in <${name}>`);
    attrs[m[1] ?? ''] = decodeEntities(m[2] ?? m[3] ?? '');
    pos = attrRe.lastIndex;
  }
  return { el: { name, attrs, children: [], text: '' }, selfClosing };
}

// ---------------------------------------------------------------------------------------------------------------
// Lookups by local name (namespace prefixes such as `qes:` ignored)

export const localName = (name: string) => name.slice(name.indexOf(':') + 1);
export function xChild(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => localName(c.name) === name);
}
export function xChildren(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => localName(c.name) === name) : [];
}
/** The element at a `/`-separated path of child names. */
export function xPath(el: XmlElement | undefined, path: string): XmlElement | undefined {
  let cur = el;
  for (const part of path.split('/')) cur = xChild(cur, part);
  return cur;
}
export function xNumber(el: XmlElement | undefined): number | undefined {
  return el ? toNumber(el.text.trim()) : undefined;
}
export function xBool(el: XmlElement | undefined): boolean | undefined {
  return el ? asLogical(el.text) : undefined;
}
export function xText(el: XmlElement | undefined): string | undefined {
  const t = el?.text.trim();
  return t ? t : undefined;
}
