// Positions survive everything XML does to text: entities, CDATA, comments, child elements.
import { describe, expect, it } from 'vitest';
import { parseMapping } from '../../mappings/index.js';
import { parseXml } from '../../mappings/xml.js';
import { argumentReferences } from '../../mappings/sql.js';

describe('parseXml', () => {
  it('gives attribute names and values their own positions', () => {
    const { root } = parseXml('<durability\n   service = "Svc" other=\'x\'/>', 'm.xml');
    expect(root!.attributes.map((a) => [a.name, a.value, a.namePosition, a.valuePosition])).toEqual([
      ['service', 'Svc', { line: 2, column: 4 }, { line: 2, column: 15 }],
      ['other', 'x', { line: 2, column: 20 }, { line: 2, column: 27 }],
    ]);
  });

  it('maps decoded text back to its source columns through entities and CDATA', () => {
    const source = [
      '<durability service="S"><state name="s" type="database">',
      '<method name="m"><sql>UPDATE t SET a = 1 WHERE b &lt; arg[0] AND c = <![CDATA[ arg[1] ]]></sql></method>',
      '</state></durability>',
    ].join('\n');
    const { mapping, diagnostics } = parseMapping(source, 'm.xml');
    expect(diagnostics).toEqual([]);
    const state = mapping!.states[0]!;
    if (state.mechanism !== 'database') throw new Error('expected a database state');
    const statement = state.methods[0]!.steps[0]!.variants.default![0]!;
    expect(statement.segments[0]).toBe('UPDATE t SET a = 1 WHERE b < ');
    expect(argumentReferences(statement).map((r) => r.position)).toEqual([
      { line: 2, column: 55 },
      { line: 2, column: 80 },
    ]);
  });
});

describe('what the XML readers get wrong, handled', () => {
  it('accepts <!DOCTYPE mentioned in a comment, and keeps element names as written', () => {
    const { root, diagnostics } = parseXml('<!-- no <!DOCTYPE here -->\n<durability service="S"><toString/></durability>', 'm.xml');
    expect(diagnostics).toEqual([]);
    expect(root!.children.map((c) => c.name)).toEqual(['toString']);
  });

  it.each([
    ['<durability service="S">&#x;</durability>', 1, 25, "'&#x;' is not a valid character reference"],
    ['<durability service="S&#0;"/>', 1, 23, "'&#0;' is not a valid character reference"],
    ['<durability service="S">a & b</durability>', 1, 27, "a bare '&' must be written '&amp;'"],
    ['<durability service="S"><![CDATA[ x </durability>', 1, 25, 'this CDATA section is never closed'],
    ['<durability service="S"><?pi x </durability>', 1, 25, 'this processing instruction is never closed'],
  ])('reports %j at its place', (xml, line, column, message) => {
    const { diagnostics } = parseXml(xml, 'm.xml');
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.position).toEqual({ line, column });
    expect(diagnostics[0]!.message).toContain(message);
  });
});

describe('dialect variants', () => {
  it('groups adjacent <sql dialect> elements with a default into one step, and starts a new step after a default', () => {
    const { mapping, diagnostics } = parseMapping(
      `<durability service="S"><state name="s" type="database">
        <initialization>
          <sql>CREATE TABLE a (x INTEGER)</sql>
          <sql dialect="mysql">INSERT IGNORE INTO a VALUES (1)</sql>
          <sql>INSERT INTO a VALUES (1) ON CONFLICT DO NOTHING</sql>
          <sql dialect="postgres">SELECT 1</sql>
          <sql dialect="postgres">SELECT 2</sql>
          <sql dialect="sqlite">SELECT 3</sql>
          <sql dialect="mysql">SELECT 4</sql>
        </initialization>
      </state></durability>`,
      'm.xml',
    );
    expect(diagnostics.map((d) => d.code)).toEqual(['DUR1013']);
    const state = mapping!.states[0]!;
    if (state.mechanism !== 'database') throw new Error('expected a database state');
    expect(state.initialization.map((step) => Object.keys(step.variants).sort())).toEqual([['default'], ['default', 'mysql'], ['postgres'], ['mysql', 'postgres', 'sqlite']]);
  });
});
