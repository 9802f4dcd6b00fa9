// GET /metrics in the Prometheus text exposition format (version 0.0.4), for a client that asks for it
// (`Accept: text/plain` or `application/openmetrics-text`, as Prometheus does); JSON otherwise. The same
// figures as the JSON: requests by outcome, request latency (a histogram per method and outcome), commit
// groups and their latencies, the node's role, epoch, promotions, live backups and their replication lag,
// and how far it has applied the stream.
import type { RequestHistograms } from './histogram.js';

/** A latency summary as the HTTP server and the committer keep it (milliseconds). */
interface Summary {
  p50: number;
  p99: number;
  count: number;
}

/** What the node reports (serving/node.ts `metrics`): only the fields used here are read. */
interface NodeFigures {
  role?: unknown;
  epoch?: unknown;
  liveBackups?: unknown;
  replicationLag?: { address: string; records: number }[];
  promotions?: unknown;
  lastApplied?: unknown;
  commits?: { groups?: unknown; actions?: unknown; groupSize?: Summary; replicationMs?: Summary; databaseMs?: Summary } | undefined;
}

/** Whether the request asks for the text format. */
export function wantsPrometheusText(accept: string | undefined): boolean {
  return typeof accept === 'string' && /\b(text\/plain|application\/openmetrics-text)\b/i.test(accept);
}

export function prometheusText(counters: Record<string, number>, node: NodeFigures, latencyMs: Summary, requests: RequestHistograms): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge' | 'summary' | 'histogram', help: string, samples: [labels: string, value: number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${Number.isFinite(value) ? value : 0}`);
  };
  const summary = (name: string, help: string, s: Summary | undefined, scale: number) => {
    if (!s) return;
    metric(name, 'summary', help, [
      ['{quantile="0.5"}', s.p50 * scale],
      ['{quantile="0.99"}', s.p99 * scale],
    ]);
    lines.push(`${name}_count ${s.count}`);
  };
  const { requests: requestCount, ...outcomes } = counters;
  metric(
    'durable_requests_total',
    'counter',
    'RPC requests that reached the service (POST /rpc/<method>, valid, on a ready primary); the rest are counted by outcome in durable_request_outcomes_total.',
    [['', requestCount ?? 0]],
  );
  metric(
    'durable_request_outcomes_total',
    'counter',
    'Answers of this node by outcome (bad_requests: malformed, unknown or too large).',
    Object.entries(outcomes).map(([outcome, n]) => [`{outcome="${snake(outcome)}"}`, n]),
  );
  summary('durable_request_latency_seconds', 'Request latency over the last requests (up to 10 000).', latencyMs, 1 / 1000);
  const durations: [string, number][] = [];
  for (const { method, outcome, histogram } of requests.byKey.values()) {
    const labels = `method="${labelValue(method)}",outcome="${outcome}"`;
    for (const [le, count] of histogram.cumulative()) durations.push([`_bucket{${labels},le="${le}"}`, count]);
    durations.push([`_sum{${labels}}`, histogram.sumSeconds], [`_count{${labels}}`, histogram.count]);
  }
  lines.push('# HELP durable_request_duration_seconds RPC requests by method and outcome, from the request read to the reply.', '# TYPE durable_request_duration_seconds histogram');
  for (const [suffix, value] of durations) lines.push(`durable_request_duration_seconds${suffix} ${value}`);
  metric('durable_primary', 'gauge', 'Whether this node is the primary (1) or a backup (0).', [['', node.role === 'primary' ? 1 : 0]]);
  metric('durable_epoch', 'gauge', 'The epoch this node is at.', [['', Number(node.epoch ?? 0)]]);
  metric('durable_live_backups', 'gauge', 'Backups acknowledging this primary now.', [['', Array.isArray(node.liveBackups) ? node.liveBackups.length : 0]]);
  metric('durable_promotions_total', 'counter', 'Times this node took over as the primary.', [['', Number(node.promotions ?? 0)]]);
  metric(
    'durable_replication_lag_records',
    'gauge',
    'Records sent to a live backup that it has not acknowledged yet.',
    (node.replicationLag ?? []).map(({ address, records }) => [`{backup="${labelValue(address)}"}`, records]),
  );
  metric('durable_last_applied', 'gauge', 'The last record of the stream applied here (a backup).', [['', Number(node.lastApplied ?? 0)]]);
  const commits = node.commits;
  if (commits) {
    metric('durable_commit_groups_total', 'counter', 'Commit groups made durable.', [['', Number(commits.groups ?? 0)]]);
    metric('durable_committed_actions_total', 'counter', 'Actions (requests) made durable in them.', [['', Number(commits.actions ?? 0)]]);
    summary('durable_commit_group_size', 'Actions per commit group.', commits.groupSize, 1);
    summary('durable_replication_seconds', 'Time for a group to be acknowledged by the backups.', commits.replicationMs, 1 / 1000);
    summary('durable_database_commit_seconds', 'Time for a group to commit in the database.', commits.databaseMs, 1 / 1000);
  }
  return lines.join('\n') + '\n';
}

/** A label value as the text format escapes it (a method name may hold any character). */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
