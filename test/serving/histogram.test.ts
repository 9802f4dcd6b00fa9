// The per-method latency histograms of /metrics: buckets by their upper bounds, cumulative as the text
// format writes them, and label values escaped whatever the method is called.
import { expect, it } from 'vitest';
import { LatencyHistogram, RequestHistograms } from '../../proxies/serving/histogram.js';
import { prometheusText } from '../../proxies/serving/prometheus.js';

it('puts an observation in the first bucket whose bound holds it, bounds included', () => {
  const h = new LatencyHistogram();
  for (const seconds of [0.00005, 0.0001, 0.0002, 0.001, 0.0011, 42]) h.observe(seconds);
  const cumulative = Object.fromEntries(h.cumulative());
  expect(cumulative).toMatchObject({ '0.0001': 2, '0.00025': 3, '0.001': 4, '0.0025': 5, '10': 5, '+Inf': 6 });
  expect(h.count).toBe(6);
  expect(h.sumSeconds).toBeCloseTo(42.00245, 6);
  expect(h.quantileBound(0.5)).toBe(0.00025);
  expect(h.quantileBound(1)).toBe(Infinity);
});

it('writes one histogram per method and outcome, escaping the method name', () => {
  const requests = new RequestHistograms();
  requests.observe('say "hi"\\now', 'ok', 0.002);
  requests.observe('say "hi"\\now', 'ok', 0.003);
  requests.observe('add', 'service_error', 0.0004);
  const text = prometheusText({ requests: 3 }, {}, { p50: 1, p99: 2, count: 3 }, requests);
  expect(text).toContain('durable_request_duration_seconds_bucket{method="say \\"hi\\"\\\\now",outcome="ok",le="0.0025"} 1');
  expect(text).toContain('durable_request_duration_seconds_count{method="say \\"hi\\"\\\\now",outcome="ok"} 2');
  expect(text).toContain('durable_request_duration_seconds_bucket{method="add",outcome="service_error",le="+Inf"} 1');
  expect(requests.summary()).toEqual({
    'say "hi"\\now': { ok: { count: 2, meanMs: expect.closeTo(2.5, 6), p50UpToMs: 2.5, p99UpToMs: 5 } },
    add: { service_error: { count: 1, meanMs: expect.closeTo(0.4, 6), p50UpToMs: 0.5, p99UpToMs: 0.5 } },
  });
});
