// The records universe's mappings. The database one keeps each field in a column of its natural type
// per dialect (TEXT, INTEGER, REAL, BOOLEAN, BIGINT, a timestamp, JSON text) and the Map's order in a
// `pos` column, so that recovery through `<apply method="put">` can rebuild exactly what was there.
import type { ConfigName } from '../harness/universe.js';

const COLUMNS = 'id, label, amount, ratio, flag, big, stamp, meta, tags';

const TABLE: Record<'sqlite' | 'postgres' | 'mysql', string> = {
  sqlite:
    'CREATE TABLE IF NOT EXISTS records (id VARCHAR(64) PRIMARY KEY, pos INTEGER NOT NULL, label TEXT NOT NULL, amount INTEGER NOT NULL, ratio REAL NOT NULL, flag BOOLEAN NOT NULL, big BIGINT NOT NULL, stamp TIMESTAMP NOT NULL, meta TEXT NOT NULL, tags TEXT NOT NULL)',
  postgres:
    'CREATE TABLE IF NOT EXISTS records (id VARCHAR(64) PRIMARY KEY, pos INTEGER NOT NULL, label TEXT NOT NULL, amount INTEGER NOT NULL, ratio DOUBLE PRECISION NOT NULL, flag BOOLEAN NOT NULL, big BIGINT NOT NULL, stamp TIMESTAMPTZ(3) NOT NULL, meta TEXT NOT NULL, tags TEXT NOT NULL)',
  mysql:
    'CREATE TABLE IF NOT EXISTS records (id VARCHAR(64) PRIMARY KEY, pos INT NOT NULL, label TEXT NOT NULL, amount INT NOT NULL, ratio DOUBLE NOT NULL, flag BOOLEAN NOT NULL, big BIGINT NOT NULL, stamp DATETIME(3) NOT NULL, meta LONGTEXT NOT NULL, tags LONGTEXT NOT NULL)',
};

const VALUES = 'arg[1], arg[2], arg[3], arg[4], arg[5], arg[6], arg[7], arg[8]';
const UPDATED = ['label', 'amount', 'ratio', 'flag', 'big', 'stamp', 'meta', 'tags'];

/** Insert, or update in place: a new row goes last (pos), a replaced one keeps its place, as Map.set does. */
const PUT = `
  <sql dialect="mysql">INSERT INTO records (id, pos, label, amount, ratio, flag, big, stamp, meta, tags) SELECT arg[0], COALESCE(MAX(pos), 0) + 1, ${VALUES} FROM records ON DUPLICATE KEY UPDATE ${UPDATED.map((c) => `${c} = VALUES(${c})`).join(', ')}</sql>
  <sql>INSERT INTO records (id, pos, label, amount, ratio, flag, big, stamp, meta, tags) VALUES (arg[0], (SELECT COALESCE(MAX(pos), 0) + 1 FROM records), ${VALUES}) ON CONFLICT (id) DO UPDATE SET ${UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}</sql>`;

const TALLIES = `
  <state name="tallies" type="database">
    <initialization><sql>CREATE TABLE IF NOT EXISTS tallies (name VARCHAR(64) PRIMARY KEY, pos INTEGER NOT NULL, n INTEGER NOT NULL)</sql></initialization>
    <recovery>
      <query>SELECT name, n FROM tallies ORDER BY pos</query>
      <apply method="open" args="name, n"/>
    </recovery>
    <method name="open">
      <sql dialect="mysql">INSERT INTO tallies (name, pos, n) SELECT arg[0], COALESCE(MAX(pos), 0) + 1, arg[1] FROM tallies ON DUPLICATE KEY UPDATE n = VALUES(n)</sql>
      <sql>INSERT INTO tallies (name, pos, n) VALUES (arg[0], (SELECT COALESCE(MAX(pos), 0) + 1 FROM tallies), arg[1]) ON CONFLICT (name) DO UPDATE SET n = excluded.n</sql>
    </method>
    <method name="add"><sql>UPDATE tallies SET n = n + arg[1] WHERE name = arg[0]</sql></method>
    <method name="withdraw"><sql>UPDATE tallies SET n = n - arg[1] WHERE name = arg[0]</sql></method>
    <method name="transfer"><sql>UPDATE tallies SET n = n - arg[2] WHERE name = arg[0]; UPDATE tallies SET n = n + arg[2] WHERE name = arg[1]</sql></method>
    <method name="close"><sql>DELETE FROM tallies WHERE name = arg[0]</sql></method>
  </state>`;

const DATABASE = `
<durability service="RecordsService">
  <state name="records" type="database">
    <initialization>
      <sql dialect="sqlite">${TABLE.sqlite}</sql>
      <sql dialect="postgres">${TABLE.postgres}</sql>
      <sql dialect="mysql">${TABLE.mysql}</sql>
    </initialization>
    <recovery>
      <query>SELECT ${COLUMNS} FROM records ORDER BY pos</query>
      <apply method="put" args="${COLUMNS}"/>
    </recovery>
    <method name="put">${PUT}</method>
    <method name="remove"><sql>DELETE FROM records WHERE id = arg[0]</sql></method>
    <method name="add"><sql>UPDATE records SET amount = amount + arg[1] WHERE id = arg[0]</sql></method>
    <method name="withdraw"><sql>UPDATE records SET amount = amount - arg[1] WHERE id = arg[0]</sql></method>
    <method name="toggle">
      <sql dialect="postgres">UPDATE records SET flag = NOT flag WHERE id = arg[0]</sql>
      <sql>UPDATE records SET flag = 1 - flag WHERE id = arg[0]</sql>
    </method>
    <method name="stamp"><sql>UPDATE records SET stamp = arg[1] WHERE id = arg[0]</sql></method>
    <method name="relabel"><sql>UPDATE records SET label = arg[1] WHERE id = arg[0]</sql></method>
  </state>${TALLIES}
</durability>`;

export const TABLES = ['records', 'tallies'];

export function recordsMapping(config: ConfigName): string {
  switch (config) {
    case 'state':
    case 'repeat':
      return `<durability service="RecordsService"><state name="records" type="replication" update="${config}"/><state name="tallies" type="replication" update="${config}"/></durability>`;
    case 'reconstruction':
      return '<durability service="RecordsService"><state name="records" type="reconstruction"/><state name="tallies" type="reconstruction"/></durability>';
    default:
      return DATABASE;
  }
}
