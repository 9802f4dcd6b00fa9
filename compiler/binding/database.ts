// Binds a database state object's mapping to its class: every update method has SQL (DUR2006), SQL is
// mapped only to methods that update (DUR2010), every `arg[N]` names a parameter (DUR2005) and a property
// that exists (DUR2012) of a type a column can hold and give back (DUR2020), the recovery replays rows
// through a method that takes them (DUR2009), and methods that hand state to unseen code are flagged
// (DUR2017).
import type { Node, Type } from 'ts-morph';
import { argumentReferences, type DatabaseStateMapping } from '../../mappings/index.js';
import { suggestion } from '../../mappings/validate.js';
import { acceptsArgumentIndex, requiredParameterCount, type StateClassInfo, type StateMethodInfo } from '../analysis/model.js';
import { describeValueType } from '../analysis/value-types.js';
import { describe } from './findings.js';
import type { Report, Resolve } from './bind.js';

/**
 * `calledByService`: the object's methods service code calls, when the analysis saw every call (undefined
 * when the object escapes to code it cannot see).
 */
export function bindDatabase(state: DatabaseStateMapping, cls: StateClassInfo, report: Report, resolve: Resolve, hasRecoveryElement: boolean, calledByService?: ReadonlySet<string>): void {
  const mapped = new Set<string>();
  for (const entry of state.methods) {
    mapped.add(entry.name);
    const target = resolve(entry, '<method>');
    if (!target) continue;
    if (!target.updates) {
      report(
        'DUR2010',
        `Method '${target.name}' never updates ${cls.name} (found no write to its fields), so its SQL would run on calls that change nothing in memory. Remove this <method>, or check that the method really writes.`,
        entry.position,
      );
    }
    for (const step of entry.steps) {
      for (const statements of Object.values(step.variants)) {
        for (const ref of statements.flatMap(argumentReferences)) {
          if (!acceptsArgumentIndex(target, ref.index)) {
            report(
              'DUR2005',
              `'${ref.source}' refers to argument ${ref.index}, but ${target.name}(${target.parameters.map((p) => p.name).join(', ')}) takes ${target.parameters.length === 0 ? 'none' : target.parameters.length === 1 ? 'one: arg[0]' : `${target.parameters.length}: arg[0] to arg[${target.parameters.length - 1}]`}. Arguments count from 0.`,
              ref.position,
            );
            continue;
          }
          const parameter = target.parameters[Math.min(ref.index, target.parameters.length - 1)]!;
          // Past the fixed parameters, arg[N] is one element of the rest parameter.
          const type = parameter.rest ? (parameter.type.getArrayElementType() ?? parameter.type) : parameter.type;
          const found = followPath(type, ref.path, target.declaration);
          if ('missing' in found) {
            const missing = found.missing;
            report('DUR2012', `'${ref.source}': ${missing.owner} of type '${missing.typeText}' has no property '${missing.property}'.${suggestion(missing.property, missing.available)}`, ref.position);
            continue;
          }
          if (!found.type) continue;
          const value = describeValueType(found.type, target.declaration);
          if (value.problem) {
            report('DUR2020', `'${ref.source}' (type '${found.type.getText(target.declaration)}') ${value.problem.what}. ${value.problem.instead.replaceAll('arg[N]', ref.source)}.`, ref.position);
          }
        }
      }
    }
  }

  for (const m of cls.methods.values()) {
    if (m.unsure && !m.updates && !m.isPrivate && !mapped.has(m.name)) {
      report(
        'DUR2017',
        `${cls.name}.${m.name} looks read-only, but it ${describe(m.unsure)}, which the analysis cannot see into. If that changes the object, map the method with <sql>; if not, nothing to do.`,
        state.position,
      );
    }
    if (!m.updates || m.isPrivate || mapped.has(m.name)) continue;
    // The <apply> method rebuilds the object from rows already stored: recovery calls it on the object
    // itself, never through the proxy, so no SQL runs. It needs SQL only if a request calls it too (and
    // a request that does without SQL is refused at run time, DUR3001).
    if (m.name === state.recovery?.apply.name && calledByService && !calledByService.has(m.name)) continue;
    report(
      'DUR2006',
      `${cls.name}.${m.name} updates the object (it ${describe(m.updates)}) but has no <method name="${m.name}"> with <sql> in database state '${state.field.name}', so its changes would never reach the database. Add the statement(s) that store them.`,
      state.position,
    );
  }

  if (!state.recovery) {
    if (hasRecoveryElement) return; // present but invalid: already reported
    report(
      'DUR2011',
      `Database state '${state.field.name}' has no <recovery>: after a failover the object would start empty although its rows are in the database. Add <recovery><query>SELECT …</query><apply method="…" args="…"/></recovery>.`,
      state.position,
    );
    return;
  }
  const apply = resolve(state.recovery.apply, '<apply>');
  if (!apply) return;
  const columns = state.recovery.apply.columns;
  const required = requiredParameterCount(apply);
  const rest = apply.parameters.some((p) => p.rest);
  if (columns.length < required || (columns.length > apply.parameters.length && !rest)) {
    report(
      'DUR2009',
      `<apply> passes ${columns.length} column(s) to ${apply.name}(${apply.parameters.map((p) => p.name).join(', ')}), which takes ${required === apply.parameters.length ? required : `${required} to ${apply.parameters.length}`}. List one column of the query per parameter in args.`,
      state.recovery.apply.columnsPosition,
    );
    return;
  }
  columns.forEach((column, i) => {
    const parameter = parameterFor(apply, i);
    if (!parameter) return;
    const value = describeValueType(parameter.type, apply.declaration);
    if (value.problem) {
      report(
        'DUR2020',
        `<apply> passes column '${column}' to ${apply.name}'s parameter '${parameter.name}' (type '${parameter.type.getText(apply.declaration)}'), but a column value cannot become ${value.problem.noun}. Give ${apply.name} a parameter a column can hold (a string, a number, a boolean, a bigint, a Date, plain JSON data, or a Set or Map of such data) and build the value in the method.`,
        state.recovery!.apply.columnsPosition,
      );
    }
  });
}

function parameterFor(method: StateMethodInfo, index: number): { name: string; type: Type } | undefined {
  const parameter = method.parameters[Math.min(index, method.parameters.length - 1)];
  if (!parameter) return undefined;
  if (parameter.rest && index >= method.parameters.length - 1) return { name: parameter.name, type: parameter.type.getArrayElementType() ?? parameter.type };
  return { name: parameter.name, type: parameter.type };
}

/** Follows `a.b.c` through a parameter's type: the type found, or the first link that does not exist. */
function followPath(type: Type, propertyPath: string[], at: Node): { type?: Type } | { missing: { owner: string; property: string; typeText: string; available: string[] } } {
  let current = type;
  let owner = 'the argument';
  for (const property of propertyPath) {
    const present = current.getNonNullableType();
    if (present.isAny() || present.isUnknown() || present.isTypeParameter()) return {};
    const symbol = present.getApparentType().getProperty(property);
    if (!symbol) {
      return {
        missing: {
          owner,
          property,
          typeText: present.getText(at),
          available: present
            .getApparentType()
            .getProperties()
            .map((p) => p.getName()),
        },
      };
    }
    current = symbol.getTypeAtLocation(at);
    owner = `'${property}'`;
  }
  return { type: current };
}
