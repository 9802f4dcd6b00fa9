// XML → a small element tree that remembers where everything came from. fast-xml-parser validates and
// parses; its `captureMetaData` start offsets anchor each element, and the start tag is re-scanned here to
// give every attribute (name and value) and every text run its own offset, so that a diagnostic can point
// at the exact column, including a placeholder inside SQL that sat behind `&lt;` or in a CDATA section.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { diagnostic, LineMap, type Diagnostic, type SourcePosition } from './diagnostics.js';

export interface XmlAttribute {
  name: string;
  value: string;
  namePosition: SourcePosition;
  /** Position of the value's first character, inside the quotes. */
  valuePosition: SourcePosition;
}

/** Decoded character data with, for each decoded character, the position it came from in the file. */
export interface XmlText {
  text: string;
  positionAt(index: number): SourcePosition;
}

export interface XmlElement {
  name: string;
  position: SourcePosition;
  attributes: XmlAttribute[];
  children: XmlElement[];
  /** Character data directly inside the element (CDATA included, comments excluded), decoded. */
  text: XmlText;
}

export type XmlParseResult = { root: XmlElement; diagnostics: [] } | { root?: undefined; diagnostics: Diagnostic[] };

const metaSymbol = XMLParser.getMetaDataSymbol() as unknown as symbol;

interface OrderedNode {
  [key: string]: unknown;
  ':@'?: Record<string, string>;
}

export function parseXml(text: string, file: string): XmlParseResult {
  // A byte-order mark is not a column an editor shows.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = new LineMap(source);
  const fail = (message: string, position: SourcePosition, code: 'DUR1001' | 'DUR1002' | 'DUR1003' | 'DUR1012' = 'DUR1001'): XmlParseResult => ({
    diagnostics: [diagnostic(code, message, { file, position })],
  });

  if (source.trim() === '') return fail('The mapping file is empty. It needs a <durability service="…"> element.', { line: 1, column: 1 });
  const lexical = lexicalProblem(source);
  if (lexical) return fail(lexical.message, lines.position(lexical.offset), lexical.code);
  const validation = XMLValidator.validate(source, { allowBooleanAttributes: false });
  if (validation !== true) {
    // The validator leaves out the column (and sometimes the line) for some errors; the start of the
    // line is the best place to point at then.
    const { msg, line, col } = validation.err;
    return fail(`Malformed XML: ${msg.replace(/\.$/, '')}.`, { line: line ?? 1, column: col ?? 1 });
  }

  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    captureMetaData: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    commentPropName: '#comment',
    cdataPropName: '#cdata',
  });
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(source) as OrderedNode[];
  } catch (error) {
    // The parser is stricter than the validator in a few places (nesting depth, for one).
    return fail(`Malformed XML: ${(error as Error).message.replace(/\.$/, '')}.`, { line: 1, column: 1 });
  }
  const elements = nodes.filter((n) => elementName(n) !== undefined);
  if (elements.length === 0) return fail('The mapping has no root element; expected <durability service="…">.', { line: 1, column: 1 });
  if (elements.length > 1) {
    return fail('A mapping has one root element, <durability>; move this element inside it or remove it.', lines.position(startOf(elements[1]!)), 'DUR1012');
  }
  try {
    return { root: toElement(elements[0]!, source, lines), diagnostics: [] };
  } catch (error) {
    if (error instanceof XmlSyntaxError) return fail(error.message, lines.position(error.offset));
    throw error;
  }
}

/** A problem the position re-scan finds in text both XML readers accepted. */
class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const RESERVED_NAMES = /^(?:__proto__|constructor|prototype)$/;

/**
 * What the XML readers report badly or not at all: unclosed comments, CDATA sections and processing
 * instructions, a DTD, names the parser refuses for its own safety, and undefined or out-of-range
 * entity references. Checked on the text with comments, CDATA and processing instructions blanked out.
 */
function lexicalProblem(source: string): { code: 'DUR1001' | 'DUR1002' | 'DUR1003' | 'DUR1012'; message: string; offset: number } | undefined {
  let masked = '';
  let i = 0;
  const blocks: [string, string, string][] = [
    ['<!--', '-->', 'comment'],
    ['<![CDATA[', ']]>', 'CDATA section'],
    ['<?', '?>', 'processing instruction'],
  ];
  outer: while (i < source.length) {
    for (const [open, close, what] of blocks) {
      if (!source.startsWith(open, i)) continue;
      const end = source.indexOf(close, i + open.length);
      if (end < 0) return { code: 'DUR1001', message: `Malformed XML: this ${what} is never closed with '${close}'.`, offset: i };
      masked += source.slice(i, end + close.length).replace(/[^\n]/g, ' ');
      i = end + close.length;
      continue outer;
    }
    masked += source[i];
    i++;
  }
  const doctype = /<!DOCTYPE/i.exec(masked);
  if (doctype) return { code: 'DUR1012', message: 'Document type declarations (<!DOCTYPE …>) are not allowed in a mapping; remove it.', offset: doctype.index };
  for (const m of masked.matchAll(/<\/?([^\s/>!?]+)|\s([^\s=<>"'/]+)\s*=\s*["']/g)) {
    const name = m[1] ?? m[2]!;
    if (!RESERVED_NAMES.test(name)) continue;
    const isElement = m[1] !== undefined;
    return {
      code: isElement ? 'DUR1002' : 'DUR1003',
      message: isElement ? `Element <${name}> is not part of the mapping language.` : `Unknown attribute '${name}'.`,
      offset: m.index + (isElement ? 0 : 1),
    };
  }
  for (const m of masked.matchAll(/&([^;\s<&"']*)(;?)/g)) {
    const body = m[1]!;
    if (m[2] === ';' && decodeEntity(body) !== undefined) continue;
    const message =
      m[2] !== ';'
        ? "Malformed XML: a bare '&' must be written '&amp;'."
        : /^#/.test(body)
          ? `Malformed XML: '&${body};' is not a valid character reference.`
          : `Malformed XML: unknown entity '&${body};'. XML has &lt; &gt; &amp; &quot; &apos; and numeric references such as &#60;.`;
    return { code: 'DUR1001', message, offset: m.index };
  }
  return undefined;
}

function startOf(node: OrderedNode): number {
  return (node as unknown as Record<symbol, { startIndex: number }>)[metaSymbol]!.startIndex;
}

function elementName(node: OrderedNode): string | undefined {
  const key = Object.keys(node).find((k) => k !== ':@');
  if (key === undefined || key.startsWith('#') || key.startsWith('?')) return undefined;
  return key;
}

function toElement(node: OrderedNode, source: string, lines: LineMap): XmlElement {
  const key = elementName(node)!;
  const start = startOf(node);
  // The name as written: the parser renames a few (`toString` becomes `__toString`).
  const name = /^<([^\s/>]+)/.exec(source.slice(start, start + 200))?.[1] ?? key;
  const { attributes, contentStart, selfClosing } = scanStartTag(source, start, lines);
  const childNodes = (node[key] as OrderedNode[] | undefined) ?? [];
  const children = childNodes.filter((n) => elementName(n) !== undefined).map((n) => toElement(n, source, lines));
  const text = selfClosing ? emptyText(lines.position(contentStart)) : decodeContent(source, contentStart, lines);
  return { name, position: lines.position(start), attributes, children, text };
}

/** Reads `<name a="v" b='w'>` from `start`; the validator already accepted it, so the scan is simple. */
function scanStartTag(source: string, start: number, lines: LineMap) {
  const attributes: XmlAttribute[] = [];
  const end = source.length;
  let i = start + 1;
  while (i < end && !/[\s/>]/.test(source[i]!)) i++;
  for (;;) {
    while (i < end && /\s/.test(source[i]!)) i++;
    if (i >= end) throw new XmlSyntaxError('Malformed XML: this start tag is never closed.', start);
    if (source[i] === '>') return { attributes, contentStart: i + 1, selfClosing: false };
    if (source[i] === '/') return { attributes, contentStart: i + 2, selfClosing: true };
    const nameStart = i;
    while (i < end && !/[\s=>]/.test(source[i]!)) i++;
    const name = source.slice(nameStart, i);
    while (i < end && source[i] !== '"' && source[i] !== "'") i++;
    if (i >= end) throw new XmlSyntaxError(`Malformed XML: attribute '${name}' has no quoted value.`, nameStart);
    const quote = source[i]!;
    const valueStart = i + 1;
    const valueEnd = source.indexOf(quote, valueStart);
    if (valueEnd < 0) throw new XmlSyntaxError(`Malformed XML: the value of attribute '${name}' is never closed.`, nameStart);
    attributes.push({
      name,
      value: decodeEntities(source.slice(valueStart, valueEnd)),
      namePosition: lines.position(nameStart),
      valuePosition: lines.position(valueStart),
    });
    i = valueEnd + 1;
  }
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The character an entity reference stands for; undefined for an unknown name or an invalid code point. */
function decodeEntity(body: string): string | undefined {
  const numeric = /^#x([0-9a-fA-F]{1,6})$|^#([0-9]{1,7})$/.exec(body);
  if (numeric) {
    const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2]!, 10);
    const valid = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) && code !== 0xfffe && code !== 0xffff);
    return valid ? String.fromCodePoint(code) : undefined;
  }
  return Object.hasOwn(NAMED_ENTITIES, body) ? NAMED_ENTITIES[body] : undefined;
}

function decodeEntities(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => decodeEntity(body) ?? whole);
}

function emptyText(at: SourcePosition): XmlText {
  return { text: '', positionAt: () => at };
}

/**
 * Decodes the character data of one element, skipping its child elements and comments, and keeps the
 * source offset of every decoded character.
 */
function decodeContent(source: string, from: number, lines: LineMap): XmlText {
  let text = '';
  const offsets: number[] = [];
  let depth = 0;
  let i = from;
  const push = (chars: string, offset: number) => {
    for (let k = 0; k < chars.length; k++) offsets.push(offset);
    text += chars;
  };
  while (i < source.length) {
    if (source.startsWith('<!--', i)) {
      i = indexAfter(source, '-->', i);
    } else if (source.startsWith('<![CDATA[', i)) {
      const end = indexAfter(source, ']]>', i) - 3;
      if (depth === 0) for (let k = i + 9; k < end; k++) push(source[k]!, k);
      i = end + 3;
    } else if (source.startsWith('</', i)) {
      if (depth === 0) break;
      depth--;
      i = indexAfter(source, '>', i);
    } else if (source.startsWith('<?', i)) {
      i = indexAfter(source, '?>', i);
    } else if (source[i] === '<') {
      const tag = scanStartTag(source, i, lines);
      if (!tag.selfClosing) depth++;
      i = tag.contentStart;
    } else if (source[i] === '&' && source.indexOf(';', i) > i) {
      const end = source.indexOf(';', i);
      const decoded = decodeEntity(source.slice(i + 1, end)) ?? source.slice(i, end + 1);
      if (depth === 0) push(decoded, i);
      i = end + 1;
    } else {
      if (depth === 0) push(source[i]!, i);
      i++;
    }
  }
  const endOffset = i;
  return {
    text,
    positionAt: (index) => lines.position(offsets[index] ?? endOffset),
  };
}

/** The offset just past the next `needle` at or after `from`; the end of the text if there is none. */
function indexAfter(source: string, needle: string, from: number): number {
  const at = source.indexOf(needle, from);
  return at < 0 ? source.length : at + needle.length;
}
