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

export function parseXml(source: string, file: string): XmlParseResult {
  const lines = new LineMap(source);
  const fail = (message: string, position?: SourcePosition): XmlParseResult => ({
    diagnostics: [diagnostic('DUR1001', message, { file, position })],
  });

  if (source.trim() === '') return fail('The mapping file is empty. It needs a <durability service="…"> element.', { line: 1, column: 1 });
  const doctype = /<!DOCTYPE/i.exec(source);
  if (doctype) {
    return {
      diagnostics: [
        diagnostic('DUR1012', 'Document type declarations (<!DOCTYPE …>) are not allowed in a mapping; remove it.', {
          file,
          position: lines.position(doctype.index),
        }),
      ],
    };
  }
  const validation = XMLValidator.validate(source, { allowBooleanAttributes: false });
  if (validation !== true) {
    // The validator leaves out the column (and sometimes the line) for some errors, such as an
    // unterminated comment; the start of the line is the best place to point at then.
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
  // The parser is stricter than the validator in places (an unclosed processing instruction passes
  // one and not the other), and the position re-scan trusts what both accepted: anything either throws
  // is a malformed document, reported as such rather than as a crash.
  try {
    const nodes = parser.parse(source) as OrderedNode[];
    const elements = nodes.filter((n) => elementName(n) !== undefined);
    if (elements.length === 0) return fail('The mapping has no root element; expected <durability service="…">.', { line: 1, column: 1 });
    return { root: toElement(elements[0]!, source, lines), diagnostics: [] };
  } catch (error) {
    return fail(`Malformed XML: ${(error as Error).message.replace(/\.$/, '')}.`, { line: 1, column: 1 });
  }
}

function elementName(node: OrderedNode): string | undefined {
  const key = Object.keys(node).find((k) => k !== ':@');
  if (key === undefined || key.startsWith('#') || key.startsWith('?')) return undefined;
  return key;
}

function toElement(node: OrderedNode, source: string, lines: LineMap): XmlElement {
  const name = elementName(node)!;
  const start = (node as unknown as Record<symbol, { startIndex: number }>)[metaSymbol]!.startIndex;
  const { attributes, contentStart, selfClosing } = scanStartTag(source, start, lines);
  const childNodes = (node[name] as OrderedNode[] | undefined) ?? [];
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
    if (i >= end) throw new Error(`Start tag at offset ${start} is not closed`);
    if (source[i] === '>') return { attributes, contentStart: i + 1, selfClosing: false };
    if (source[i] === '/') return { attributes, contentStart: i + 2, selfClosing: true };
    const nameStart = i;
    while (i < end && !/[\s=>]/.test(source[i]!)) i++;
    const name = source.slice(nameStart, i);
    while (i < end && source[i] !== '"' && source[i] !== "'") i++;
    if (i >= end) throw new Error(`Attribute '${name}' has no quoted value`);
    const quote = source[i]!;
    const valueStart = i + 1;
    const valueEnd = source.indexOf(quote, valueStart);
    if (valueEnd < 0) throw new Error(`The value of attribute '${name}' is not closed`);
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

function decodeEntity(body: string): string | undefined {
  if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
  if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
  return NAMED_ENTITIES[body];
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
