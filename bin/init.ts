// `durable init [dir]`: a service, its mapping, a tsconfig, a cluster key and the npm scripts, so that the
// next command a user types is `npm run build` and the one after it serves. Nothing the user already has
// is overwritten: a file that exists is kept (and said so), a script name already taken keeps its command.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nodeResolvesPackage } from '../compiler/self-package.js';
import { PACKAGE_NAME } from '../compiler/package-root.js';

export class InitRefused extends Error {}

export interface InitResult {
  created: string[];
  kept: string[];
  scriptsAdded: string[];
  scriptsKept: string[];
  installed: boolean;
}

const SERVICE = `import { state } from 'durability-compiler';

/** What is on the shelf. Kept in the database (durability.xml): it survives losing every process. */
export class Stock {
  private counts = new Map<string, number>();
  set(product: string, count: number): void {
    this.counts.set(product, count);
  }
  count(product: string): number {
    return this.counts.get(product) ?? 0;
  }
}

/** The orders taken. Replicated in memory to the backups (durability.xml): a backup takes over with them. */
export class Orders {
  private taken: { id: string; product: string; quantity: number }[] = [];
  add(id: string, product: string, quantity: number): void {
    this.taken.push({ id, product, quantity });
  }
  size(): number {
    return this.taken.length;
  }
}

export class Shop {
  @state stock = new Stock();
  @state orders = new Orders();

  restock(product: string, quantity: number): number {
    if (!Number.isInteger(quantity) || quantity <= 0) throw new Error('quantity must be a positive integer');
    this.stock.set(product, this.stock.count(product) + quantity);
    return this.stock.count(product);
  }

  /** All or nothing: when it throws, the stock it took is back on the shelf. */
  order(product: string, quantity: number): string {
    const left = this.stock.count(product) - quantity;
    this.stock.set(product, left);
    if (left < 0) throw new Error(\`only \${left + quantity} \${product} left\`);
    const id = \`order-\${this.orders.size() + 1}\`;
    this.orders.add(id, product, quantity);
    return id;
  }

  available(product: string): number {
    return this.stock.count(product);
  }
}
`;

const MAPPING = `<!-- How each @state field of src/service.ts survives failures (durability-compiler's docs/MAPPING.md). -->
<durability service="Shop">
  <state name="stock" type="database">
    <initialization>CREATE TABLE IF NOT EXISTS stock (product VARCHAR(255) PRIMARY KEY, count INTEGER NOT NULL)</initialization>
    <recovery>
      <query>SELECT product, count FROM stock</query>
      <apply method="set" args="product, count"/>
    </recovery>
    <method name="set">
      <sql>DELETE FROM stock WHERE product = arg[0]</sql>
      <sql>INSERT INTO stock (product, count) VALUES (arg[0], arg[1])</sql>
    </method>
  </state>
  <state name="orders" type="replication"/>
</durability>
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  },
  include: ['src'],
};

const SERVE = 'durable serve build --db sqlite:data/shop.db --key-file cluster.key';
const SCRIPTS: Record<string, string> = {
  check: 'durable check src/service.ts --mapping durability.xml',
  build: 'durable compile src/service.ts --mapping durability.xml --out build',
  serve: `${SERVE} --role primary --http 127.0.0.1:8080 --repl 127.0.0.1:9080`,
  'serve:backup': `${SERVE} --role backup --http 127.0.0.1:8081 --repl 127.0.0.1:9081 --join 127.0.0.1:9080`,
};

const IGNORED = ['build/', 'data/', 'cluster.key'];

export function initProject(dir: string): InitResult {
  const result: InitResult = { created: [], kept: [], scriptsAdded: [], scriptsKept: [], installed: nodeResolvesPackage(dir) };
  const clashes = ['src/service.ts', 'durability.xml'].filter((file) => existsSync(path.join(dir, file)));
  if (clashes.length > 0) {
    throw new InitRefused(
      `${clashes.join(' and ')} already ${clashes.length === 1 ? 'exists' : 'exist'} in ${dir}; nothing was written. Run durable init in a new directory, or move ${clashes.length === 1 ? 'it' : 'them'} aside.`,
    );
  }
  const manifest = readPackageJson(dir);
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const write = (file: string, text: string, mode?: number) => {
    if (existsSync(path.join(dir, file))) return void result.kept.push(file);
    writeFileSync(path.join(dir, file), text, { mode });
    result.created.push(file);
  };
  write('src/service.ts', SERVICE);
  write('durability.xml', MAPPING);
  write('tsconfig.json', JSON.stringify(TSCONFIG, null, 2) + '\n');
  // Replication peers prove themselves with this key (docs/SERVING.md); readable by its owner only.
  write('cluster.key', randomBytes(32).toString('hex') + '\n', 0o600);
  updatePackageJson(dir, manifest, result);
  updateGitignore(dir, result);
  return result;
}

/** The user's package.json, or undefined when there is none; refused before anything is written when it is not JSON. */
function readPackageJson(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw new Error('it holds no object');
    const scripts = manifest.scripts;
    if (scripts !== undefined && (!scripts || typeof scripts !== 'object' || Array.isArray(scripts))) throw new Error('its "scripts" is not an object');
    return manifest;
  } catch (error) {
    throw new InitRefused(`${file} cannot be used (${(error as Error).message}); nothing was written. Fix it and run durable init again.`);
  }
}

function updatePackageJson(dir: string, existing: Record<string, unknown> | undefined, result: InitResult): void {
  let manifest = existing;
  if (!manifest) {
    const name =
      path
        .basename(path.resolve(dir))
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/^[._-]+/, '') || 'service';
    manifest = { name, version: '0.1.0', private: true, type: 'module' };
    result.created.push('package.json');
  }
  const scripts = (manifest.scripts ?? {}) as Record<string, string>;
  for (const [name, command] of Object.entries(SCRIPTS)) {
    if (scripts[name] === undefined) {
      scripts[name] = command;
      result.scriptsAdded.push(name);
    } else if (scripts[name] !== command) {
      result.scriptsKept.push(name);
    }
  }
  manifest.scripts = scripts;
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
}

function updateGitignore(dir: string, result: InitResult): void {
  const file = path.join(dir, '.gitignore');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = new Set(existing.split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORED.filter((entry) => !lines.has(entry) && !lines.has(entry.replace(/\/$/, '')));
  if (missing.length === 0) return;
  writeFileSync(file, existing + (existing && !existing.endsWith('\n') ? '\n' : '') + missing.join('\n') + '\n');
  if (!existing) result.created.push('.gitignore');
}

/** What to tell the user: what was done, and the next commands. */
export function describeInit(dir: string, result: InitResult, cwd: string): string {
  const relative = path.relative(cwd, dir);
  const where = relative.startsWith('..') ? dir : relative || '.';
  const lines = [`Created in ${where}: ${result.created.join(', ') || 'nothing new'}.`];
  if (result.kept.length) lines.push(`Kept your own ${result.kept.join(', ')}.`);
  if (result.scriptsAdded.length) lines.push(`Added npm scripts: ${result.scriptsAdded.join(', ')}.`);
  if (result.scriptsKept.length) {
    lines.push(`Kept your scripts ${result.scriptsKept.join(', ')}; durable's would have been:`);
    for (const name of result.scriptsKept) lines.push(`  "${name}": "${SCRIPTS[name]}"`);
  }
  lines.push('', 'Next:');
  if (where !== '.') lines.push(`  cd ${where}`);
  if (!result.installed) lines.push(`  npm install ${PACKAGE_NAME}`);
  // Where the user kept a script of their own under our name, the command itself (npm run would run theirs).
  const run = (name: string) => (result.scriptsKept.includes(name) ? `npx ${SCRIPTS[name]}` : `npm run ${name}`);
  lines.push(
    `  ${run('build')}          # check the mapping against the service and compile build/primary and build/backup`,
    `  ${run('serve')}          # the primary on http://127.0.0.1:8080 (${run('serve:backup')} in another terminal adds a backup)`,
    `  curl -s 127.0.0.1:8080/rpc/restock -d '{"args": ["apple", 5]}'`,
    `  curl -s 127.0.0.1:8080/rpc/order -d '{"args": ["apple", 2], "id": "my-first-order"}'`,
    '',
    'Then make src/service.ts and durability.xml your own.',
  );
  return lines.join('\n') + '\n';
}
