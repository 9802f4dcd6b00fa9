// The schema of the mapping language: which elements and attributes exist where, and what values they
// take. Reads the positioned XML tree into the typed model, reporting every problem it finds (not only
// the first) with the exact line and column, and a suggestion where one is plausible.
import { diagnostic, type Diagnostic, type DiagnosticCode, type SourcePosition } from './diagnostics.js';
import {
  DIALECTS,
  MECHANISMS,
  SYNC_MODES,
  UPDATE_MODES,
  type DatabaseMethod,
  type DatabaseRecovery,
  type Dialect,
  type DurabilityMapping,
  type Mechanism,
  type MethodReference,
  type Named,
  type ReplicatedMethod,
  type SqlStep,
  type StateMapping,
  type SyncMode,
  type UpdateMode,
} from './model.js';
import { argumentReferences, parseSql, type SqlStatement } from './sql.js';
import type { XmlAttribute, XmlElement } from './xml.js';

/** Child elements each mechanism accepts inside `<state>`. */
const STATE_CHILDREN: Record<Mechanism, readonly string[]> = {
  database: ['initialization', 'recovery', 'method', 'checkpoint', 'restore'],
  replication: ['method', 'checkpoint', 'restore'],
  reconstruction: ['recovery', 'checkpoint', 'restore'],
  none: [],
};
const SINGLETONS = new Set(['initialization', 'recovery', 'checkpoint', 'restore']);
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ReadMappingResult {
  mapping?: DurabilityMapping;
  diagnostics: Diagnostic[];
  /**
   * Every `<state name>` written, the ones dropped for errors included, so that binding does not also
   * call their fields unmapped.
   */
  mentionedStates: string[];
  /** States that have a `<recovery>` element, valid or not, for the same reason. */
  statesWithRecovery: string[];
}

export function readMapping(root: XmlElement, file: string): ReadMappingResult {
  const reader = new MappingReader(file);
  const mapping = reader.read(root);
  const states = root.children.filter((c) => c.name === 'state');
  const names = (list: XmlElement[]) => list.flatMap((c) => attribute(c, 'name')?.value.trim() ?? []);
  return {
    mapping,
    diagnostics: reader.diagnostics,
    mentionedStates: names(states),
    statesWithRecovery: names(states.filter((s) => s.children.some((c) => c.name === 'recovery'))),
  };
}

class MappingReader {
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly file: string) {}

  private report(code: DiagnosticCode, message: string, position: SourcePosition): void {
    this.diagnostics.push(diagnostic(code, message, { file: this.file, position }));
  }

  read(root: XmlElement): DurabilityMapping | undefined {
    if (root.name !== 'durability') {
      this.report('DUR1012', `The root element is <${root.name}>; a mapping's root is <durability service="…">.`, root.position);
      return undefined;
    }
    this.attributes(root, ['service'], ['service']);
    this.noText(root);
    const service = this.named(root, 'service');
    const states: StateMapping[] = [];
    const seen = new Map<string, SourcePosition>();
    for (const child of root.children) {
      if (child.name !== 'state') {
        this.unknownElement(child, '<durability>', ['state']);
        continue;
      }
      const state = this.state(child);
      if (!state) continue;
      const earlier = seen.get(state.field.name);
      if (earlier) {
        this.report('DUR1007', `State object '${state.field.name}' is mapped twice (first at line ${earlier.line}). Keep one <state name="${state.field.name}">.`, state.field.position);
        continue;
      }
      seen.set(state.field.name, state.field.position);
      states.push(state);
    }
    if (!service) return undefined;
    return { file: this.file, service, states };
  }

  private state(el: XmlElement): StateMapping | undefined {
    const typeAttr = attribute(el, 'type');
    const mechanism = typeAttr && (MECHANISMS as readonly string[]).includes(typeAttr.value) ? (typeAttr.value as Mechanism) : undefined;
    const allowed = mechanism === 'replication' || mechanism === undefined ? ['name', 'type', 'update', 'sync'] : ['name', 'type'];
    this.attributes(el, allowed, ['name', 'type'], (name) => (name === 'update' || name === 'sync' ? `Attribute '${name}' applies only to <state type="replication">.` : undefined));
    this.noText(el);
    if (typeAttr && !mechanism) {
      const hint = suggestion(typeAttr.value, MECHANISMS);
      this.report('DUR1005', `Unknown durability mechanism '${typeAttr.value}'.${hint} Use one of: ${MECHANISMS.join(', ')}.`, typeAttr.valuePosition);
    }
    const field = this.named(el, 'name');
    if (!field || !mechanism) return undefined;

    const children = this.stateChildren(el, mechanism);
    const base = {
      field,
      position: el.position,
      checkpoint: this.methodAttribute(children.get('checkpoint')),
      restore: this.methodAttribute(children.get('restore')),
    };
    switch (mechanism) {
      case 'database': {
        const init = children.get('initialization');
        const recovery = children.get('recovery');
        return {
          ...base,
          mechanism,
          initialization: init ? this.sqlBlock(init, false) : [],
          recovery: recovery ? this.databaseRecovery(recovery) : undefined,
          methods: this.methods(el, (m) => this.databaseMethod(m)),
        };
      }
      case 'replication': {
        const update = this.choice(el, 'update', UPDATE_MODES);
        const sync = this.choice(el, 'sync', SYNC_MODES);
        return {
          ...base,
          mechanism,
          update: (update?.value as UpdateMode | undefined) ?? 'state',
          updatePosition: update?.valuePosition,
          sync: (sync?.value as SyncMode | undefined) ?? 'ack',
          methods: this.methods(el, (m) => this.replicatedMethod(m)),
        };
      }
      case 'reconstruction': {
        const recovery = children.get('recovery');
        return { ...base, mechanism, rebuild: this.methodAttribute(recovery) };
      }
      case 'none':
        return { ...base, mechanism };
    }
  }

  /** Checks the children of a `<state>` against its mechanism; returns the singleton sections by name. */
  private stateChildren(el: XmlElement, mechanism: Mechanism): Map<string, XmlElement> {
    const singletons = new Map<string, XmlElement>();
    const allowed = STATE_CHILDREN[mechanism];
    for (const child of el.children) {
      if (!allowed.includes(child.name)) {
        this.unknownElement(child, `<state type="${mechanism}">`, allowed);
        continue;
      }
      if (!SINGLETONS.has(child.name)) continue;
      if (singletons.has(child.name)) {
        this.report('DUR1007', `<${child.name}> is given twice in state '${attribute(el, 'name')?.value ?? '?'}'; keep one.`, child.position);
        continue;
      }
      singletons.set(child.name, child);
      if (child.name === 'checkpoint' || child.name === 'restore' || (child.name === 'recovery' && mechanism === 'reconstruction')) {
        this.attributes(child, ['method'], ['method']);
        this.noText(child);
        for (const grandchild of child.children) this.unknownElement(grandchild, `<${child.name}>`, []);
      }
    }
    return singletons;
  }

  private methods<M extends Named>(state: XmlElement, read: (el: XmlElement) => M | undefined): M[] {
    const methods: M[] = [];
    const seen = new Map<string, SourcePosition>();
    for (const el of state.children) {
      if (el.name !== 'method') continue;
      const method = read(el);
      if (!method) continue;
      const earlier = seen.get(method.name);
      if (earlier) {
        this.report('DUR1007', `Method '${method.name}' is mapped twice in this state (first at line ${earlier.line}); merge the two <method> elements.`, method.position);
        continue;
      }
      seen.set(method.name, method.position);
      methods.push(method);
    }
    return methods;
  }

  private databaseMethod(el: XmlElement): DatabaseMethod | undefined {
    this.attributes(el, ['name'], ['name'], (name) =>
      name === 'update' ? `Attribute 'update' applies only to methods of <state type="replication">; a database method's update is its <sql>.` : undefined,
    );
    const name = this.named(el, 'name');
    if (!name) return undefined;
    // A method reported here stays in the model with no steps, so binding does not call it unmapped too.
    if (el.children.length === 0 && el.text.text.trim() === '') {
      this.report('DUR2006', `Method '${name.name}' of a database state has no <sql>. Add the statement(s) that store its change, e.g. <sql>UPDATE … WHERE id = arg[0]</sql>.`, el.position);
      return { ...name, steps: [] };
    }
    if (el.children.length === 0) {
      this.report('DUR1008', `Put the SQL of method '${name.name}' inside <sql>…</sql> rather than directly in <method>.`, firstTextPosition(el)!);
      return { ...name, steps: [] };
    }
    return { ...name, steps: this.sqlBlock(el, true) };
  }

  private replicatedMethod(el: XmlElement): ReplicatedMethod | undefined {
    this.attributes(el, ['name', 'update'], ['name', 'update']);
    this.noText(el);
    for (const child of el.children) this.unknownElement(child, '<method> of a replicated state', []);
    const name = this.named(el, 'name');
    const update = this.choice(el, 'update', UPDATE_MODES);
    if (!name || !update) return undefined;
    return { ...name, update: update.value as UpdateMode, updatePosition: update.valuePosition };
  }

  private databaseRecovery(el: XmlElement): DatabaseRecovery | undefined {
    this.attributes(el, [], []);
    this.noText(el);
    let query: XmlElement | undefined;
    let apply: XmlElement | undefined;
    for (const child of el.children) {
      if (child.name !== 'query' && child.name !== 'apply') {
        this.unknownElement(child, '<recovery>', ['query', 'apply']);
      } else if ((child.name === 'query' ? query : apply) !== undefined) {
        this.report('DUR1007', `<${child.name}> is given twice in <recovery>; recovery runs one query and applies each row through one method.`, child.position);
      } else if (child.name === 'query') query = child;
      else apply = child;
    }
    if (!query || !apply) {
      const missing = !query ? '<query>SELECT …</query>' : '<apply method="…" args="column, …"/>';
      this.report('DUR1004', `<recovery> needs ${missing}: the query reads the rows back and <apply> replays each row into the empty object.`, el.position);
    }
    const steps = query ? this.sqlBlock(query, false) : [];
    if (!apply) return undefined;
    this.attributes(apply, ['method', 'args'], ['method']);
    this.noText(apply);
    for (const child of apply.children) this.unknownElement(child, '<apply>', []);
    const method = this.named(apply, 'method');
    const argsAttr = attribute(apply, 'args');
    const columns = argsAttr ? argsAttr.value.split(',').map((c) => c.trim()) : [];
    const badColumn = columns.find((c) => !COLUMN_NAME.test(c));
    if (argsAttr && argsAttr.value.trim() !== '' && badColumn !== undefined) {
      this.report(
        'DUR1006',
        `args="${argsAttr.value}" must be a comma-separated list of column names of the query's result${badColumn ? `; '${badColumn}' is not one` : ' (one is empty)'}.`,
        argsAttr.valuePosition,
      );
    }
    if (!method) return undefined;
    return {
      position: el.position,
      query: steps,
      apply: { ...method, columns: argsAttr?.value.trim() === '' ? [] : columns, columnsPosition: argsAttr?.valuePosition ?? apply.position },
    };
  }

  /**
   * A SQL section: either text (one or more statements separated by `;`) or `<sql>` children. Adjacent
   * `<sql dialect>` elements are variants of one step; an `<sql>` without a dialect is the default variant
   * and closes the step, and a dialect given again starts the next step.
   */
  private sqlBlock(el: XmlElement, takesArguments: boolean): SqlStep[] {
    if (el.name !== 'method') this.attributes(el, [], []);
    if (el.children.length === 0) {
      const statements = this.statements(el, takesArguments);
      return statements.length > 0 ? [{ position: el.position, variants: { default: statements } }] : [];
    }
    this.noText(el);
    const steps: SqlStep[] = [];
    let current: SqlStep | undefined;
    for (const child of el.children) {
      if (child.name !== 'sql') {
        this.unknownElement(child, `<${el.name}>`, ['sql']);
        continue;
      }
      this.attributes(child, ['dialect'], []);
      for (const grandchild of child.children) this.unknownElement(grandchild, '<sql>', []);
      const dialect = this.choice(child, 'dialect', DIALECTS);
      if (attribute(child, 'dialect') && !dialect) continue;
      const key = (dialect?.value as Dialect | undefined) ?? 'default';
      if (!current || current.variants[key] || current.variants.default) {
        current = { position: child.position, variants: {} };
        steps.push(current);
      }
      current.variants[key] = this.statements(child, takesArguments);
    }
    for (const step of steps) this.dialectCoverage(step);
    return steps;
  }

  private statements(el: XmlElement, takesArguments: boolean): SqlStatement[] {
    const parsed = parseSql(el.text);
    for (const problem of parsed.problems) {
      this.report(problem.kind === 'malformed-placeholder' ? 'DUR1009' : 'DUR1010', problem.message, problem.position);
    }
    if (parsed.statements.length === 0) {
      this.report('DUR1011', `<${el.name}> is empty; write the SQL statement it should run, or remove the element.`, el.position);
    }
    if (takesArguments) {
      // A method's statements run inside the group's transaction: one that ends it (or commits implicitly,
      // as DDL does on MariaDB) would commit half a group, or commit after the node was fenced.
      for (const statement of parsed.statements) {
        const keyword = leadingKeyword(statement);
        if (keyword && TRANSACTION_BREAKERS.has(keyword)) {
          this.report(
            'DUR1014',
            `A method's SQL cannot run ${keyword}: the run-time commits each group of requests in one transaction of its own, and ${keyword} would end it (or commit it implicitly). Put schema changes in <initialization>; leave transactions to the run-time.`,
            statement.position,
          );
        }
      }
    }
    if (!takesArguments) {
      const section = el.name === 'sql' ? 'This section' : `<${el.name}>`;
      for (const ref of parsed.statements.flatMap(argumentReferences)) {
        this.report(
          'DUR1010',
          `${section} runs without method arguments, so '${ref.source}' has nothing to bind to. Write the value into the SQL or move the statement into a <method>.`,
          ref.position,
        );
      }
    }
    return parsed.statements;
  }

  private dialectCoverage(step: SqlStep): void {
    if (step.variants.default) return;
    const missing = DIALECTS.filter((d) => !step.variants[d]);
    if (missing.length === 0) return;
    this.report(
      'DUR1013',
      `This statement has variants for ${DIALECTS.filter((d) => step.variants[d]).join(', ')} but none for ${missing.join(', ')}; on ${missing.join(' or ')} the state object cannot be stored. Add <sql dialect="${missing[0]}"> or a default <sql> without a dialect.`,
      step.position,
    );
  }

  private methodAttribute(el: XmlElement | undefined): MethodReference | undefined {
    return el ? this.named(el, 'method') : undefined;
  }

  /** A required identifier-valued attribute; reports an empty value. */
  private named(el: XmlElement, name: string): Named | undefined {
    const attr = attribute(el, name);
    if (!attr) return undefined; // reported by attributes() as missing
    const value = attr.value.trim();
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(value)) {
      this.report(
        'DUR1006',
        `${name}="${attr.value}" is not a valid name; it must name a ${name === 'service' ? 'class' : name === 'name' && el.name === 'state' ? 'field' : 'method'} of the service's source.`,
        attr.valuePosition,
      );
      return undefined;
    }
    return { name: value, position: attr.valuePosition };
  }

  private choice(el: XmlElement, name: string, allowed: readonly string[]): XmlAttribute | undefined {
    const attr = attribute(el, name);
    if (!attr) return undefined;
    if (allowed.includes(attr.value)) return attr;
    const hint = suggestion(attr.value, allowed);
    this.report('DUR1006', `${name}="${attr.value}" is not allowed.${hint} Use one of: ${allowed.join(', ')}.`, attr.valuePosition);
    return undefined;
  }

  private attributes(el: XmlElement, allowed: readonly string[], required: readonly string[], explain?: (name: string) => string | undefined): void {
    for (const attr of el.attributes) {
      if (allowed.includes(attr.name)) continue;
      const takes = allowed.length > 0 ? allowed.map((a) => `'${a}'`).join(', ') : 'no attributes';
      const detail = explain?.(attr.name) ?? `${suggestion(attr.name, allowed)} <${el.name}> takes ${takes}.`.trimStart();
      this.report('DUR1003', `Unknown attribute '${attr.name}' on <${el.name}>. ${detail}`, attr.namePosition);
    }
    for (const name of required) {
      if (!attribute(el, name)) {
        this.report('DUR1004', `<${el.name}> needs the attribute '${name}'${REQUIRED_HINT[`${el.name}.${name}`] ?? ''}.`, el.position);
      }
    }
  }

  private noText(el: XmlElement): void {
    const at = firstTextPosition(el);
    if (at) this.report('DUR1008', `Unexpected text inside <${el.name}>; it takes only elements here. Remove the text or wrap it in the element it belongs to.`, at);
  }

  private unknownElement(el: XmlElement, where: string, allowed: readonly string[]): void {
    const hint = suggestion(el.name, allowed);
    const takes = allowed.length > 0 ? `${where} takes ${allowed.map((a) => `<${a}>`).join(', ')}.` : `${where} takes no child elements.`;
    this.report('DUR1002', `Element <${el.name}> is not allowed in ${where}.${hint} ${takes}`, el.position);
  }
}

const REQUIRED_HINT: Record<string, string> = {
  'durability.service': ': the name of the exported service class',
  'state.name': ': the @state field it maps',
  'state.type': ': one of database, replication, reconstruction, none',
  'method.name': ': the state class method it maps',
  'method.update': ': repeat (run the same call on the backup) or state (ship the change)',
  'apply.method': ': the method each recovered row is replayed through',
  'checkpoint.method': ': the state class method that returns a checkpoint',
  'restore.method': ': the state class method that restores a checkpoint',
  'recovery.method': ': the state class method that rebuilds the object after a failure',
};

function attribute(el: XmlElement, name: string): XmlAttribute | undefined {
  return el.attributes.find((a) => a.name === name);
}

function firstTextPosition(el: XmlElement): SourcePosition | undefined {
  const index = el.text.text.search(/\S/);
  return index < 0 ? undefined : el.text.positionAt(index);
}

/** " Did you mean 'x'?" for a near miss (edit distance ≤ 2), else "". */
export function suggestion(value: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` Did you mean '${best}'?` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Statements that end, start or implicitly commit a transaction (MariaDB commits before and after DDL). */
const TRANSACTION_BREAKERS = new Set([
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'START',
  'SAVEPOINT',
  'RELEASE',
  'END',
  'ABORT',
  'CREATE',
  'ALTER',
  'DROP',
  'TRUNCATE',
  'RENAME',
  'LOCK',
  'UNLOCK',
  'GRANT',
  'REVOKE',
  'VACUUM',
]);

/** The statement's first keyword, upper-case, after any comments. */
function leadingKeyword(statement: SqlStatement): string | undefined {
  const first = statement.segments[0];
  if (typeof first !== 'string') return undefined;
  const text = first.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, '');
  return /^[A-Za-z]+/.exec(text)?.[0].toUpperCase();
}
