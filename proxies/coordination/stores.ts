// The configuration authority's stores: one record per cluster, read and swapped by version. In a
// database (PostgreSQL, MySQL/MariaDB: a table of its own; SQLite for nodes on one machine) the swap is
// one conditional UPDATE, made atomic by the database's transactions; in etcd it is one transaction
// comparing the key's version, made atomic by etcd's Raft. Nothing here decides anything.
import { createHash } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Knex } from 'knex';
import { knexConfig, loadKnex, redact } from '../database/store.js';
import { parseConfiguration, serializeConfiguration, type Configuration, type Proposal } from './configuration.js';
import type { CoordinatorStore } from './coordination.js';

/** A store call that does not answer in this long has failed: a node must not hang on its authority. */
const CALL_TIMEOUT_MS = 3_000;

/**
 * The cluster's name in the store: the service and a digest of the cluster key, so that two clusters
 * sharing a database (or an etcd) never share a configuration, and the key itself is never written.
 */
export function clusterName(service: string, key: Buffer): string {
  return `${service}:${createHash('sha256').update('durable-cluster:').update(key).digest('hex').slice(0, 16)}`;
}

export async function openCoordinatorStore(url: string, cluster: string): Promise<CoordinatorStore> {
  if (url.startsWith('etcd://')) return EtcdStore.open(url, cluster);
  return SqlStore.open(url, cluster);
}

function timed<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const TABLE = 'durable_configuration';

const REMEDY = 'Check that it runs and that --coordinator (or --db, which it defaults to) names it; --coordinator none runs without one.';

class SqlStore implements CoordinatorStore {
  private constructor(
    private readonly knex: Knex,
    private readonly cluster: string,
    readonly description: string,
  ) {}

  static async open(url: string, cluster: string): Promise<SqlStore> {
    const { config } = knexConfig(url);
    const knex = (await loadKnex())(config);
    const store = new SqlStore(knex, cluster, `the configuration table ${TABLE} of ${redact(url)}`);
    try {
      if (!(await timed(store.description, knex.schema.hasTable(TABLE)))) {
        await knex.schema
          .createTable(TABLE, (t) => {
            t.string('cluster', 200).primary();
            t.bigInteger('version').notNullable();
            t.text('body').notNullable();
          })
          .catch(async (error: unknown) => {
            if (!(await knex.schema.hasTable(TABLE))) throw error; // another node created it first: fine
          });
      }
    } catch (error) {
      await knex.destroy();
      throw new Error(`Cannot use ${store.description} as the configuration authority: ${(error as Error).message}. ${REMEDY}`);
    }
    return store;
  }

  async read(): Promise<Configuration | undefined> {
    const row = (await timed(this.description, this.knex(TABLE).where({ cluster: this.cluster }).first())) as { version: number | string; body: string } | undefined;
    return row && parseConfiguration(row.body, Number(row.version), this.description);
  }

  async swap(expected: number, next: Proposal): Promise<boolean> {
    const body = serializeConfiguration(next);
    if (expected === 0) {
      try {
        await timed(this.description, this.knex(TABLE).insert({ cluster: this.cluster, version: 1, body }));
        return true;
      } catch (error) {
        // Another node inserted first (a unique violation, however the dialect spells it): a lost race.
        if ((await this.read()) !== undefined) return false;
        throw error;
      }
    }
    const changed = await timed(
      this.description,
      this.knex(TABLE)
        .where({ cluster: this.cluster, version: expected })
        .update({ version: expected + 1, body }),
    );
    return Number(changed) === 1;
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }
}

class EtcdStore implements CoordinatorStore {
  private constructor(
    private readonly client: Etcd3,
    private readonly key: string,
    readonly description: string,
  ) {}

  static async open(url: string, cluster: string): Promise<EtcdStore> {
    const hosts = url
      .slice('etcd://'.length)
      .split(',')
      .map((h) => h.trim().replace(/\/+$/, ''))
      .filter(Boolean);
    if (hosts.length === 0 || hosts.some((h) => !/^[^\s/:]+:\d{1,5}$/.test(h))) {
      throw new Error(`The coordinator URL '${url}' is not etcd://HOST:PORT[,HOST:PORT…].`);
    }
    // etcd's client (gRPC, protobuf) costs most of a second to load: only a node that uses etcd loads it.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: hosts.map((h) => `http://${h}`), dialTimeout: CALL_TIMEOUT_MS });
    const store = new EtcdStore(client, `durable/configuration/${cluster}`, `etcd at ${hosts.join(',')}`);
    try {
      await store.read(); // reachable now, or say so at start
    } catch (error) {
      client.close();
      throw new Error(`Cannot use ${store.description} as the configuration authority: ${(error as Error).message}. ${REMEDY}`);
    }
    return store;
  }

  async read(): Promise<Configuration | undefined> {
    const response = await timed(this.description, this.client.get(this.key).exec());
    const kv = response.kvs[0];
    return kv && parseConfiguration(kv.value.toString('utf8'), Number(kv.version), this.description);
  }

  async swap(expected: number, next: Proposal): Promise<boolean> {
    // etcd counts a key's versions itself (0: absent; each put adds one): the swap compares it.
    const result = await timed(
      this.description,
      this.client
        .if(this.key, 'Version', '==', expected)
        .then(this.client.put(this.key).value(serializeConfiguration(next)))
        .commit(),
    );
    return result.succeeded;
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}
