// Imported first by a build whose mapping repeats calls on backups (update="repeat"), before the
// service's own modules load: the clocks and random sources are wrapped before any of them takes a
// reference to one (`const rand = Math.random`), so that what a repeated call reads is recorded on the
// primary and replayed on its backups. The wrappers behave as the originals outside repeated calls.
import { installNondeterminismSources } from './proxies/replication/nondeterminism.js';

installNondeterminismSources();
