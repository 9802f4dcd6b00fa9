// The differential tester on the graph universe: random sequences of requests over every kind of value
// and operation (test/differential/graph/), run on the original classes and on the run-time under
// replication (both update modes, with the backup compared after every request, a failover at random
// points and the backup promoted at the end) and reconstruction. A failure prints the minimal sequence
// as code. See docs/RELIABILITY.md for longer runs and focused ones.
import { describe, it } from 'vitest';
import { graphUniverse } from './graph/universe.js';
import { runUniverse } from './harness/suite.js';

runUniverse(describe, it, graphUniverse, ['state', 'repeat', 'reconstruction']);
