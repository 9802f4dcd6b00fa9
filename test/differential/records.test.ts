// The differential tester on the records universe (test/differential/records/): typed rows in the
// database on SQLite, PostgreSQL and MariaDB, recovered by a new primary at the end and compared with
// the original value types included; also under replication and reconstruction. See
// docs/RELIABILITY.md for longer and focused runs.
import { describe, it } from 'vitest';
import { runUniverse } from './harness/suite.js';
import { recordsUniverse } from './records/universe.js';

runUniverse(describe, it, recordsUniverse, ['sqlite', 'postgres', 'mysql', 'state', 'repeat', 'reconstruction']);
