// What `durable serve` loads: a node starts in a fraction of a second because it loads only what its
// build needs. The compiler (TypeScript, ts-morph), the mapping's XML parser and etcd's client (gRPC)
// each cost a large part of a second of CPU to load; on a two-core machine a starting node that loads
// them takes that from the primary it joins. A node of an in-memory build loads no database driver.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const REGISTER = pathToFileURL(path.join(root, 'test/support/package-loads/register.mjs')).href;
const nodes: Node[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.kill('SIGKILL');
});

async function packagesLoaded(mapping: string, role: 'primary' | 'backup'): Promise<string[]> {
  const out = path.join(root, '.tmp', 'serving', `startup-${mapping}`);
  const result = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, `examples/counter/mappings/${mapping}.xml`), out, 'test');
  expect(result.diagnostics).toEqual([]);
  const node = await startNode(out, role, [], { NODE_OPTIONS: `--import=${REGISTER}` });
  nodes.push(node);
  // One request served: whatever the first request loads counts too.
  if (role === 'primary') expect((await fetch(`${node.http}/health`)).status).toBe(200);
  return node.log.filter((line) => line.startsWith('package-loaded ')).map((line) => line.slice('package-loaded '.length));
}

const NEVER = ['typescript', 'ts-morph', '@ts-morph/common', 'fast-xml-parser', 'etcd3', '@grpc/grpc-js', 'protobufjs'];

describe('what a node loads', () => {
  it('an in-memory build: neither the compiler, the XML parser, etcd nor any database driver', async () => {
    const loaded = await packagesLoaded('pb', 'backup');
    expect(loaded.length).toBeGreaterThan(0); // the hooks ran
    expect(loaded.filter((name) => NEVER.includes(name) || ['knex', 'better-sqlite3', 'pg', 'mysql2'].includes(name))).toEqual([]);
  });

  it('a database build on SQLite: knex and SQLite, not the compiler, the XML parser or etcd', async () => {
    const loaded = await packagesLoaded('db', 'primary');
    expect(loaded).toEqual(expect.arrayContaining(['knex', 'better-sqlite3']));
    expect(loaded.filter((name) => NEVER.includes(name))).toEqual([]);
  });
});
