// What a build records of each database state object's `<apply>` method: its parameters' types, one per
// recovery column, so that the run-time converts column values back to them (proxies/database/values.ts).
// A boolean column read back as 1 is handed to a `flag: boolean` parameter as true; epoch milliseconds to
// a `when: Date` as a Date; JSON text to an object parameter as the object.
import type { ColumnType, DurabilityMapping } from '../../mappings/index.js';
import type { ServiceInfo } from '../analysis/model.js';
import { columnTypeOf } from '../analysis/value-types.js';

/** The mapping, with `recovery.apply.types` filled in for every database state object. */
export function withColumnTypes(mapping: DurabilityMapping, service: ServiceInfo): DurabilityMapping {
  const states = mapping.states.map((state) => {
    if (state.mechanism !== 'database' || !state.recovery) return state;
    const apply = service.stateFields.find((f) => f.name === state.field.name)?.stateClass?.methods.get(state.recovery.apply.name);
    if (!apply) return state;
    const types: ColumnType[] = state.recovery.apply.columns.map((_, i) => {
      const parameter = apply.parameters[Math.min(i, apply.parameters.length - 1)];
      if (!parameter) return { kind: 'unknown' };
      const type = parameter.rest && i >= apply.parameters.length - 1 ? (parameter.type.getArrayElementType() ?? parameter.type) : parameter.type;
      const column = columnTypeOf(type, apply.declaration);
      return parameter.optional && !parameter.rest ? { ...column, optional: true } : column;
    });
    return { ...state, recovery: { ...state.recovery, apply: { ...state.recovery.apply, types } } };
  });
  return { ...mapping, states };
}
