// `npm run bench:runtime`: what the state membrane costs per request, in one process, without sockets,
// disks or a load generator: the plain class called directly, then the same class behind the run-time
// under `reconstruction` (the membrane and rollback bookkeeping only) and under `replication
// update="state"` with an in-memory backup (plus encoding the changes and applying them on the backup).
// The first row is the run-time's fixed cost per request; the rows below it minus that row are what the
// membrane adds. Requests are pipelined (BENCH_REQUESTS at a time) so the figure is CPU per request, not latency.
// Needs `npm run build` first (it runs the built dist/, as users do).
// BENCH_ROOT=<another checkout, built> measures that one instead, for a before/after in one sitting.
const root = new URL(process.env.BENCH_ROOT ? `file://${process.env.BENCH_ROOT.replace(/\/?$/, '/')}` : '../', import.meta.url);
const { ServiceRuntime, InMemoryLink } = await import(new URL('dist/proxies/index.js', root).href);
const { parseMapping } = await import(new URL('dist/mappings/index.js', root).href);

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

class Catalog {
  items = new Map();
  put(id, item) {
    this.items.set(id, item);
  }
  bump(id) {
    const item = this.items.get(id);
    item.n++;
    item.tags.push('t');
    if (item.tags.length > 5) item.tags.shift();
  }
  read(id) {
    const item = this.items.get(id);
    return item.n + item.tags.length;
  }
}
const create = () => {
  const catalog = new Catalog();
  for (let i = 0; i < 1000; i++) catalog.put(`k${i}`, { n: 0, tags: [] });
  return catalog;
};

const WORKLOADS = {
  'no state used (the request machinery alone)': () => undefined,
  'read one object': (s, i) => s.read(`k${i % 1000}`),
  'change one object (3 writes)': (s, i) => s.bump(`k${i % 1000}`),
  'store a fresh object graph': (s, i) => s.put(`k${i % 5000}`, { n: i, tags: ['a', 'b'], meta: { at: i } }),
};

const MAPPINGS = {
  reconstruction: '<state name="s" type="reconstruction"/>',
  'replication state': '<state name="s" type="replication" update="state"/>',
};

async function runtimeFor(config) {
  const { mapping } = parseMapping(`<durability service="S">${MAPPINGS[config]}</durability>`, 'bench.xml');
  const objects = [{ name: 's', create }];
  const classes = new Map([['Catalog', Catalog]]);
  if (config === 'reconstruction') return ServiceRuntime.start({ role: 'primary', mapping, objects, classes });
  const backup = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes });
  const primary = await ServiceRuntime.start({ role: 'primary', mapping, objects, classes, link: new InMemoryLink([backup.replica]) });
  backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
  return primary;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perRequestUs = (started) => Number(process.hrtime.bigint() - started) / 1e3 / REQUESTS;

async function measurePlain(body) {
  const s = create();
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < REQUESTS; i++) await body(s, i); // an await per call, as a request has
    rounds.push(perRequestUs(started));
  }
  return median(rounds);
}

async function measureRuntime(config, body) {
  const runtime = await runtimeFor(config);
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    const pending = [];
    for (let i = 0; i < REQUESTS; i++) pending.push(runtime.execute({ method: 'm', touches: ['s'] }, () => body(runtime.object('s'), i)));
    const outcomes = await Promise.all(pending);
    if (outcomes.some((o) => o.kind !== 'ok')) throw new Error(`${config}: ${JSON.stringify(outcomes.find((o) => o.kind !== 'ok'))}`);
    rounds.push(perRequestUs(started));
  }
  return median(rounds);
}

console.log(
  `| workload | plain class (µs) | ${Object.keys(MAPPINGS)
    .map((m) => `${m} (µs)`)
    .join(' | ')} |`,
);
console.log(
  `|---|---|${Object.keys(MAPPINGS)
    .map(() => '---')
    .join('|')}|`,
);
for (const [name, body] of Object.entries(WORKLOADS)) {
  const plain = await measurePlain(body);
  const cells = [];
  for (const config of Object.keys(MAPPINGS)) cells.push((await measureRuntime(config, body)).toFixed(1));
  console.log(`| ${name} | ${plain.toFixed(2)} | ${cells.join(' | ')} |`);
}
