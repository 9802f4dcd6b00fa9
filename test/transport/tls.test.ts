// TLS (issue 15), with certificates the run makes itself (test/support/certificates.ts): replication
// over TLS with mutual certificates, refused to a plain-TCP peer, a peer with a certificate from another
// CA and a peer that does not trust the server's; then `durable serve` processes with --tls-*: HTTPS for
// clients, TLS between primary and backup, and a failover over it.
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { Follower } from '../../proxies/replication/following.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import { createClient } from '../../proxies/serving/client.js';
import { ReplicationServer } from '../../proxies/transport/server.js';
import { TcpLink } from '../../proxies/transport/tcp-link.js';
import type { TlsFiles } from '../../proxies/transport/tls.js';
import { Bank, classes, Counter, Ledger, Log, mapping, stateOf } from '../proxies/support.js';
import { makeCertificates, type TestCertificates } from '../support/certificates.js';
import { startNode, type Node } from '../serving/processes.js';
import { idleConnections, joined } from './support.js';

const KEY = Buffer.from('a-cluster-key-for-tls-tests-0123456789');
const objects = [
  { name: 'counter', create: () => new Counter() },
  { name: 'log', create: () => new Log() },
  { name: 'ledger', create: () => new Ledger() },
];
const root = path.resolve(import.meta.dirname, '../..');
let certs: TestCertificates;
const closers: (() => unknown)[] = [];

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const nodeTls = (): TlsFiles => ({ cert: certs.read('cert'), key: certs.read('key'), ca: certs.read('ca') });

async function backupOver(tls: TlsFiles) {
  const runtime = await ServiceRuntime.start({ role: 'backup', mapping: mapping(false), objects, classes });
  const server = new ReplicationServer({
    follower: new Follower(runtime.replica, { id: 'tls-backup', address: 'backup' }),
    key: KEY,
    node: 'backup',
    tls,
    handshakeTimeoutMs: 1_000,
    epoch: () => runtime.currentEpoch,
  });
  const { port } = await server.listen('127.0.0.1', 0);
  closers.push(() => server.close());
  return { runtime, server, port };
}

async function primaryOver(tls: TlsFiles | undefined) {
  let epoch = 1;
  const link = new TcpLink({ key: KEY, node: 'primary', epoch: () => epoch, tls, ackTimeoutMs: 300, heartbeatMs: 50, handshakeTimeoutMs: 1_000 });
  closers.push(() => link.close());
  const runtime = await ServiceRuntime.start({ role: 'primary', mapping: mapping(false), objects, classes, link });
  epoch = runtime.currentEpoch;
  return { runtime, link, bank: new Bank(runtime) };
}

describe('replication over TLS', () => {
  it('keeps a backup in step with mutual certificates', async () => {
    const backup = await backupOver(nodeTls());
    const primary = await primaryOver(nodeTls());
    await joined(primary, backup.port);
    expect(await primary.bank.charge('alice', 5, { id: 'over-tls' })).toMatchObject({ kind: 'ok' });
    expect(backup.server.following).toBe(true);
    await backup.runtime.promote();
    expect(stateOf(backup.runtime).counter).toEqual(stateOf(primary.runtime).counter);
  });

  it('refuses a plain-TCP peer, a peer whose certificate another CA signed, and one that does not trust the server', async () => {
    const backup = await backupOver(nodeTls());
    // Plain TCP: the server speaks TLS, the peer sees no hello frame and gives up.
    await expect((await primaryOver(undefined)).link.connect('127.0.0.1', backup.port)).rejects.toThrow();
    // A certificate from another CA: mutual TLS refuses it.
    await expect((await primaryOver({ cert: certs.read('rogueCert'), key: certs.read('rogueKey'), ca: certs.read('ca') })).link.connect('127.0.0.1', backup.port)).rejects.toThrow();
    // A client that trusts only another CA refuses the server's certificate.
    await expect((await primaryOver({ cert: certs.read('cert'), key: certs.read('key'), ca: certs.read('rogueCa') })).link.connect('127.0.0.1', backup.port)).rejects.toThrow(/certificate/i);
    expect(backup.server.following).toBe(false);
  });
});

describe('durable serve with --tls-cert, --tls-key and --tls-ca', () => {
  let primary: Node;
  let backup: Node;
  let out: string;

  beforeAll(async () => {
    out = path.join(root, '.tmp', 'serving', 'tls');
    const compiled = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/pb.xml'), out, 'test');
    expect(compiled.diagnostics).toEqual([]);
  });
  afterAll(() => {
    primary?.kill();
    backup?.kill();
  });

  it('serves HTTPS, replicates over TLS, and fails over over it', async () => {
    const tls = ['--tls-cert', certs.files.cert, '--tls-key', certs.files.key, '--tls-ca', certs.files.ca];
    backup = await startNode(out, 'backup', [...tls]);
    primary = await startNode(out, 'primary', [...tls, '--backups', backup.repl]);
    expect(primary.http).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await primary.waitFor('replication.backup.joined');

    const client = createClient([primary.http, backup.http], { ca: certs.read('ca'), timeoutMs: 15_000 });
    expect(await client.call('add', [], { id: 'tls-1' })).toBe(1);
    // Plain HTTP to the HTTPS port gets no answer of the service.
    await expect(fetch(primary.http.replace('https:', 'http:') + '/rpc/get', { method: 'POST', body: '{"args": []}' }).then((r) => r.status)).rejects.toThrow();
    // Nor does a client that does not trust the CA.
    await expect(createClient([primary.http], { timeoutMs: 1_000 }).call('get')).rejects.toThrow();

    primary.kill('SIGKILL');
    expect(await client.call('add', [], { id: 'tls-1' })).toBe(1); // answered once, by the backup
    expect(await client.call('add', [], { id: 'tls-2' })).toBe(2);
    expect(client.current).toBe(backup.http);
  });

  it('refuses a certificate without its key, at once', async () => {
    await expect(startNode(out, 'primary', ['--tls-cert', certs.files.cert])).rejects.toThrow(/TLS needs both --tls-cert and --tls-key/);
  });
});

// The plain-TCP probe must not hang on a TLS server either.
it('a plain connection to a TLS replication port is closed, not left open', async () => {
  const backup = await backupOver(nodeTls());
  const closed = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: backup.port }, () => socket.write('not a TLS hello\n'));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(true));
    setTimeout(() => resolve(false), 3_000).unref();
  });
  expect(closed).toBe(true);
});

it('limits connections that never start TLS as it limits those that never prove the key, and the primary still joins', async () => {
  const backup = await backupOver(nodeTls());
  const idle = await idleConnections(backup.port, 150);
  closers.push(() => idle.sockets.forEach((s) => s.destroy()));
  await idle.openAtMost(8);
  expect(150 - idle.closed()).toBeLessThanOrEqual(8);
  const primary = await primaryOver(nodeTls());
  await joined(primary, backup.port);
  expect(await primary.bank.charge('bob', 2, { id: 'after-the-tls-flood' })).toMatchObject({ kind: 'ok' });
  expect(backup.server.following).toBe(true);
  // The rest are closed at the deadline (1 s here), TLS handshake or not.
  await new Promise((r) => setTimeout(r, 1_300));
  expect(idle.closed()).toBe(150);
});
