// The run-time generated services call: a ServiceRuntime per service instance, configured from the
// mapping, with one durability proxy per state object. See docs/RUNTIME.md.
export { bindStateFields, ServiceRuntime, type RequestContext, type RuntimeOptions, type ServiceOptions, type StateObjectSpec } from './runtime.js';
export type { Outcome, RequestSpec } from './action/controller.js';
export type { Action, CommitPart, DurabilityProxy, ReplicatedEntry, ReplicatedUpdate, SqlWork } from './core/types.js';
export { DurabilityRefusal, StateOutsideActionError, type RefusalCode } from './core/refusals.js';
export { rawOf, isStateProxy } from './core/raw.js';
export { EncodingError, type ClassRegistry, type Encoded } from './core/encoding.js';
export { DatabaseStore, FencedError } from './database/store.js';
export { BackupReplica, StaleEpochError, type Ack } from './replication/backup.js';
// A primary and its backups in one process (a service's own tests of failover, say).
export { InMemoryLink } from './replication/in-memory.js';
export { ReplicationUnavailableError, type Decision, type ReplicationBatch, type ReplicationLink, type ReplicationRecord } from './replication/link.js';
export { DurabilityError, unwrap } from './core/errors.js';
export { structuredClone } from './core/builtins.js';
export { ClientTimeoutError, createClient, RemoteServiceError, type ClientOptions, type DurableClient } from './serving/client.js';
export { ServiceNode, type NodeOptions } from './serving/node.js';
export { ReplicationServer } from './transport/server.js';
export { TcpLink } from './transport/tcp-link.js';
// What a build calls to read a request's arguments as its method declares them.
export { BadArgumentsError, requestArguments, type ParameterShape } from './serving/arguments.js';
