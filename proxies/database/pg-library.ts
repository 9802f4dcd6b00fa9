// pg, loaded the first time a PostgreSQL store needs it: a node on SQLite, MariaDB or no database at
// all starts without it. Synchronous (pg is CommonJS), so the stores' constructors and parsers may ask.
import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);
let loaded: typeof pg | undefined;

export function pgLibrary(): typeof pg {
  return (loaded ??= require('pg') as typeof pg);
}
