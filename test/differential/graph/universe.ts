// The graph universe: two state objects (a Store and a Shelf, a subclass) whose graphs requests
// reshape with every kind of value and operation JavaScript has (see steps.ts, values.ts), through the
// state classes' methods and through service code, with failures injected after partial work.
import type { Service, Universe } from '../harness/universe.js';
import { graphRequests, type Call, type GraphRequest } from './arbitraries.js';
import { Shelf, Store } from './classes.js';
import { GRAPH_EXAMPLES } from './examples.js';
import { InjectedFailure, Item } from './item.js';
import { pick, reach } from './reach.js';
import { runStep } from './steps.js';

function runCall(service: Service, call: Call): unknown {
  if (call.kind === 'share') return (service[call.to] as Store).adopt(call.key, (service[call.from] as Store).pick(call.at));
  const target = service[call.object] as Store;
  if (call.via === 'service') {
    const result = runStep(target, call.step, { name: call.object });
    if (call.fail === 'inside') throw new InjectedFailure(`the service failed after ${call.step.op}`);
    return result;
  }
  if (call.fail === 'no') return target.apply(call.step);
  if (call.fail === 'inside') return target.applyThenFail(call.step);
  try {
    return target.applyThenFail(call.step);
  } catch (error) {
    if (!(error instanceof InjectedFailure)) throw error;
    return 'caught';
  }
}

function describeCall(service: Service, call: Call, lines: string[]): void {
  if (call.kind === 'share') {
    const key = call.key === '@unique' ? 'UNIQUE' : call.key === '@for' ? 'Symbol.for("difftest.registered")' : JSON.stringify(call.key);
    const picked = pick(reach(service[call.from]!, call.from), 'any', call.at)!.path;
    lines.push(`${call.to}.obj[${key}] = ${picked}; // service code: ${call.to}.adopt(key, ${call.from}.pick(${call.at}))`);
    runCall(service, call);
    return;
  }
  const trace: string[] = [];
  const where = call.via === 'method' ? `in a method of ${call.object}` : 'in service code';
  try {
    runStep(service[call.object]!, call.step, { name: call.object, trace });
  } finally {
    // Written whether or not the step threw: the step's line comes before what it threw.
    const line = trace.join(' ');
    if (call.via === 'method' && call.fail === 'caught') {
      lines.push(`try { ${line} throw new InjectedFailure(); } catch {} // ${where}; the service catches the failure and goes on`);
    } else {
      lines.push(`${line} // ${where}`);
      if (call.fail === 'inside') lines.push(`throw new InjectedFailure(); // ${where}, after partial work`);
    }
  }
}

export const graphUniverse = (excluded: ReadonlySet<string>): Universe<GraphRequest> => ({
  name: 'graph',
  objects: [
    { name: 'store', create: () => new Store() },
    { name: 'shelf', create: () => new Shelf() },
  ],
  classes: [Store, Shelf, Item],
  mapping(config) {
    const mechanism = config === 'state' || config === 'repeat' ? `type="replication" update="${config}"` : config === 'reconstruction' ? 'type="reconstruction"' : undefined;
    if (!mechanism) return undefined;
    return `<durability service="GraphService"><state name="store" ${mechanism}/><state name="shelf" ${mechanism}/></durability>`;
  },
  run(service, request) {
    let result: unknown;
    for (const call of request.calls) result = runCall(service, call);
    if (request.throwAfter) throw new InjectedFailure(`the request failed after ${request.calls.length} call(s)`);
    return result;
  },
  describe(service, request) {
    const lines: string[] = [];
    for (const call of request.calls) {
      try {
        describeCall(service, call, lines);
      } catch (error) {
        lines.push(`// ↑ throws ${(error as Error).constructor.name}: ${(error as Error).message}`);
        return lines;
      }
    }
    if (request.throwAfter) lines.push('throw new InjectedFailure(); // the service method fails after all of that');
    return lines;
  },
  // Issue 11: every value and pattern here must work, but for what docs/RUNTIME.md's table says the
  // run-time refuses, because no run-time could do it: freezing existing state (or making a property of
  // it non-configurable) could not be undone if the request failed (DUR3005), and a key made with
  // Symbol() cannot be named on another process's replica (DUR3004, replicated state only).
  mayRefuse(request, config) {
    for (const call of request.calls) {
      if (call.kind === 'share') {
        if (call.key === '@unique' && (config === 'state' || config === 'repeat')) return 'DUR3004: a Symbol() key cannot be named on a replica';
        continue;
      }
      const step = call.step;
      if (step.op === 'integrity') return 'DUR3005: freezing state during a request cannot be undone';
      if (step.op === 'define' && !step.configurable) return 'DUR3005: a non-configurable property cannot be undone';
      if ((config === 'state' || config === 'repeat') && JSON.stringify(step).includes('"@unique"')) return 'DUR3004: a Symbol() key cannot be named on a replica';
    }
    return undefined;
  },
  requests: graphRequests(excluded),
  examples: GRAPH_EXAMPLES,
  simplify(request) {
    const simpler: GraphRequest[] = [];
    if (request.throwAfter) simpler.push({ ...request, throwAfter: false });
    if (request.calls.length > 1) request.calls.forEach((_, i) => simpler.push({ ...request, calls: request.calls.filter((__, j) => j !== i) }));
    request.calls.forEach((call, i) => {
      if (call.kind === 'step' && call.fail !== 'no') simpler.push({ ...request, calls: request.calls.map((c, j) => (j === i ? { ...call, fail: 'no' } : c)) });
      if (call.kind === 'step' && call.via === 'service') simpler.push({ ...request, calls: request.calls.map((c, j) => (j === i ? { ...call, via: 'method', fail: 'no' } : c)) });
    });
    return simpler;
  },
});
