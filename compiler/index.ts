// The compile-time API ('durability-compiler/compiler'): check a service against its mapping.
export { checkService, type CheckResult } from './check.js';
export type * from './analysis/model.js';
