// The simulated clients: each sends one request at a time with a fresh id and retries it, by the same id,
// on another node until it is acknowledged; every request and its outcome is recorded for the checker.
import { onHost, type Host, type Network } from './network.js';
import type { SimNode } from './node.js';

export interface ClientRecord {
  acked: Map<string, number>;
  sent: Set<string>;
  /** Requests that got an answer other than success or a retryable refusal. */
  errors: string[];
  outstanding: string | undefined;
}

export async function runClient(
  name: string,
  record: ClientRecord,
  network: Network,
  nodes: () => SimNode[],
  over: () => boolean,
  say: (who: string, event: string, fields?: Record<string, unknown>) => void,
  trace: boolean,
) {
  const scheduler = network.scheduler;
  const host: Host = { id: name, alive: true, pausedUntil: 0 };
  network.add(host);
  const sleep = (ms: number) => new Promise<void>((resolve) => onHost(scheduler, host, scheduler.now + ms, resolve));
  let target = 'n0';
  let rotation = 0;
  for (let i = 0; !over(); i++) {
    const id = `${name}-${i}`;
    record.sent.add(id);
    record.outstanding = id;
    for (let attempt = 0; ; attempt++) {
      const answer = await ask(network, host, target, id);
      if (trace) say(name, 'answer', { id, target, kind: answer?.kind ?? 'no answer', message: answer?.message });
      if (answer?.kind === 'ok') {
        record.acked.set(id, Number(answer.result));
        break;
      }
      if (answer && !['not-primary', 'unavailable'].includes(String(answer.kind))) {
        record.errors.push(`${id}: ${String(answer.kind)}: ${String(answer.message)}`);
        say(name, 'ERROR', { id, kind: answer.kind, message: answer.message });
        break;
      }
      // Elsewhere: now and then the primary the node names (it may be stale), else the next node in turn.
      const known = nodes().map((n) => n.id);
      rotation++;
      target = typeof answer?.hint === 'string' && answer.hint !== target && attempt % 3 === 0 ? answer.hint : known[rotation % known.length]!;
      await sleep(scheduler.random.int(10, 60));
    }
    record.outstanding = undefined;
    await sleep(scheduler.random.int(0, 20));
  }
}

function ask(network: Network, host: Host, to: string, id: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: Record<string, unknown> | undefined) => {
      if (done) return;
      done = true;
      connection.close(0);
      resolve(answer);
    };
    // The node's port greets every connection (its hello, as the replication port does): the answer follows it.
    const connection = network.connect(host, to, { message: (m) => (m.type === 'hello' ? undefined : finish(m)), close: () => finish(undefined) });
    connection.send(0, { type: 'rpc', id });
    onHost(network.scheduler, host, network.scheduler.now + 1_500, () => finish(undefined));
  });
}
