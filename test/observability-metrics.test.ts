/**
 * Metrics as an operator's tools read them: `GET /metrics` on its own port, parsed with an independent
 * parser of the Prometheus text format (parse-prometheus-text-format, not prom-client), after known
 * traffic: a success, a BAD_USER_INPUT, an upstream 503 retried then successful, a batched read, a
 * rate-limited caller.
 */
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';
import { seedData } from '../src/emulator/index.js';
import { OperationNameLimiter } from '../src/plugins/metrics/metrics.js';
import { freePort } from './helpers/loopback.js';
import { startMain } from './helpers/main-process.js';
import { startStack, startStackForFile, type Stack } from './helpers/stack.js';

const SUPPORT = 'query Support { supportProfile { id email } }';
const BAD_EMAIL = 'mutation BadEmail { updateSupportProfile(input: { email: "not an e-mail" }) { id } }';
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * Scrapes and parses. The parser keeps the labels of counters and gauges, but flattens a histogram's
 * samples into one label-less entry; so the text is parsed once as it is (every family and its type),
 * and once more with the histograms declared untyped, which gives their `_bucket`, `_sum` and `_count`
 * series with their labels, as Prometheus stores them.
 */
async function scrape(stack: Stack): Promise<{ families: Map<string, ParsedFamily>; contentType: string | null; text: string }> {
  const response = await fetch(stack.metricsUrl!);
  expect(response.status).toBe(200);
  const text = await response.text();
  const families = new Map<string, ParsedFamily>();
  const add = (family: ParsedFamily) => {
    const known = families.get(family.name);
    families.set(family.name, known ? { ...known, metrics: [...known.metrics, ...family.metrics] } : family);
  };
  const typed = parsePrometheusTextFormat(text);
  typed.forEach(add);
  const histograms = new Set(typed.filter((f) => f.type === 'HISTOGRAM').map((f) => f.name));
  for (const family of parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'))) {
    if ([...histograms].some((name) => family.name.startsWith(`${name}_`))) add(family);
  }
  return { families, contentType: response.headers.get('content-type'), text };
}

/** The samples of `name` whose labels include `labels`. */
function samples(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): ParsedSample[] {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  return family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

const valueOf = (families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}) =>
  samples(families, name, labels).reduce((sum, m) => sum + Number(m.value), 0);
/** A histogram's observation count (its `_count` series). */
const countOf = (families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}) =>
  families.has(`${name}_count`) ? valueOf(families, `${name}_count`, labels) : 0;
const sumOf = (families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}) =>
  families.has(`${name}_sum`) ? valueOf(families, `${name}_sum`, labels) : 0;

describe('metrics before any traffic', () => {
  it('has every known retry series at 0, so a rate or an alert on retries reads a series before the first retry', async () => {
    const stack = await startStack({ metrics: true });
    try {
      const { families } = await scrape(stack);
      expect(families.get('gateway_upstream_retries_total')?.type).toBe('COUNTER');
      for (const service of ['partner-center', 'graph']) {
        for (const reason of ['throttled', 'unavailable', 'gateway_timeout', 'timeout', 'connection_failed']) {
          expect({ service, reason, series: samples(families, 'gateway_upstream_retries_total', { service, reason }).map((m) => Number(m.value)) }).toEqual({
            service,
            reason,
            series: [0],
          });
        }
      }
    } finally {
      await stack.close();
    }
  });
});

describe('metrics', () => {
  const stack = startStackForFile({ metrics: true });

  it('serves GET /metrics on its own port in the Prometheus text format, with the default metrics unprefixed', async () => {
    expect(stack.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(stack.metricsUrl!).port).not.toBe(new URL(stack.url).port);
    const { families, contentType } = await scrape(stack);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('COUNTER');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('GAUGE');
    expect(families.get('nodejs_heap_size_used_bytes')).toBeDefined();
    // The GraphQL port does not serve them.
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(404);
  });

  it('counts a success, a BAD_USER_INPUT and an upstream 503 retried then successful, with bounded labels', async () => {
    const before = (await scrape(stack)).families;
    expect((await stack.graphql(SUPPORT)).body.errors).toBeUndefined();
    const bad = await stack.graphql(BAD_EMAIL);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    stack.emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 503, retryAfter: '0.01' });
    expect((await stack.graphql(SUPPORT)).body.errors).toBeUndefined();
    expect(stack.emulator.requests({ service: 'partner-center', path: '/v1/profiles/support' }).map((r) => r.status).slice(-2)).toEqual([503, 200]);

    const { families, text } = await scrape(stack);
    const delta = (name: string, labels: Record<string, string>, read = valueOf) => read(families, name, labels) - read(before, name, labels);

    expect(delta('gateway_graphql_operations_total', { operation_type: 'query', operation_name: 'Support', outcome: 'success' })).toBe(2);
    expect(delta('gateway_graphql_operations_total', { operation_type: 'mutation', operation_name: 'BadEmail', outcome: 'error' })).toBe(1);
    expect(delta('gateway_graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBe(1);

    // One observation per try: the 503 and the two 200s; the BAD_USER_INPUT sent nothing.
    expect(delta('gateway_upstream_request_duration_seconds', { service: 'partner-center', method: 'GET', status: '200' }, countOf)).toBe(2);
    expect(delta('gateway_upstream_request_duration_seconds', { service: 'partner-center', method: 'GET', status: '503' }, countOf)).toBe(1);
    expect(delta('gateway_upstream_retries_total', { service: 'partner-center', reason: 'unavailable' })).toBe(1);

    expect(delta('gateway_http_request_duration_seconds', { method: 'POST', route: '/graphql', status: '200' }, countOf)).toBe(3);
    expect(families.get('gateway_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    const labels = { method: 'POST', route: '/graphql', status: '200' };
    expect(valueOf(families, 'gateway_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(countOf(families, 'gateway_http_request_duration_seconds', labels));

    // The first exchange for this caller, then its cache.
    expect(valueOf(families, 'gateway_upstream_token_requests_total', { service: 'partner-center', result: 'exchanged' })).toBeGreaterThanOrEqual(1);
    expect(delta('gateway_upstream_token_requests_total', { service: 'partner-center', result: 'cache_hit' })).toBeGreaterThanOrEqual(1);

    // Breakers are counted per state, both services always present.
    for (const service of ['partner-center', 'graph']) {
      for (const state of ['closed', 'half_open', 'open']) expect(samples(families, 'gateway_upstream_circuit_state', { service, state })).toHaveLength(1);
    }
    expect(valueOf(families, 'gateway_upstream_circuit_state', { state: 'open' })).toBe(0);

    // No label value is an id or a tenant.
    expect(text).not.toMatch(GUID);
    expect(text).not.toContain(seedData.partnerTenantId);
  });

  it('observes DataLoader batch sizes', async () => {
    const customer = seedData.customers[0]!;
    const before = (await scrape(stack)).families;
    const [u1, u2] = customer.userIds;
    const query = `query Two { a: customerUser(customerId: "${customer.id}", userId: "${u1}") { id } b: customerUser(customerId: "${customer.id}", userId: "${u2}") { id } }`;
    expect((await stack.graphql(query)).body.errors).toBeUndefined();
    const { families } = await scrape(stack);
    const loader = { loader: 'customer_user' };
    expect(countOf(families, 'gateway_dataloader_batch_size', loader) - countOf(before, 'gateway_dataloader_batch_size', loader)).toBe(1);
    expect(sumOf(families, 'gateway_dataloader_batch_size', loader) - sumOf(before, 'gateway_dataloader_batch_size', loader)).toBe(2);
  });

  it('labels unmatched paths by none of their text', async () => {
    await fetch(`${stack.url}/customers/${seedData.customers[0]!.id}`);
    const { families, text } = await scrape(stack);
    expect(countOf(families, 'gateway_http_request_duration_seconds', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toMatch(GUID);
  });

  it('keeps operation names bounded: after the first distinct ones, other', async () => {
    for (let i = 0; i < 60; i++) await stack.graphql(`query Probe${i} { viewer { authenticated } }`);
    const { families } = await scrape(stack);
    const names = new Set(samples(families, 'gateway_graphql_operations_total').map((m) => m.labels?.operation_name));
    expect(names.size).toBeLessThanOrEqual(50 + 3); // 50 distinct, plus other, unknown, anonymous
    expect(names).toContain('other');
  });
});

describe('metrics with a rate limit', () => {
  const stack = startStackForFile({ metrics: true, env: { RATE_LIMIT_PER_MINUTE: '1' } });

  it('counts refused callers in gateway_rate_limited_total and their RATE_LIMITED errors', async () => {
    await stack.graphql('{ viewer { authenticated } }');
    expect((await stack.graphql('{ viewer { authenticated } }')).status).toBe(429);
    const { families } = await scrape(stack);
    expect(valueOf(families, 'gateway_rate_limited_total')).toBe(1);
    expect(valueOf(families, 'gateway_graphql_errors_total', { code: 'RATE_LIMITED' })).toBe(1);
    expect(countOf(families, 'gateway_http_request_duration_seconds', { route: '/graphql', status: '429' })).toBe(1);
  });
});

describe('metrics off', () => {
  it('METRICS_PORT=0 starts no listener', async () => {
    const { loadConfig } = await import('../src/config.js');
    expect(loadConfig({}).metricsPort).toBe(9464);
    expect(loadConfig({ METRICS_PORT: '0' }).metricsPort).toBe(0);
    const stack = await startStack({ env: { METRICS_PORT: '0' } });
    try {
      expect(stack.metricsUrl).toBeUndefined();
    } finally {
      await stack.close();
    }
  });
});

describe('OperationNameLimiter', () => {
  it('keeps the known names and the first N others, then says other', () => {
    const limiter = new OperationNameLimiter(['Persisted'], 2);
    expect(['A', 'B', 'C', 'Persisted', 'A', undefined, 'not-a-name'].map((n) => limiter.label(n))).toEqual([
      'A',
      'B',
      'other',
      'Persisted',
      'A',
      'anonymous',
      'other',
    ]);
  });
});

describe('metrics from `npm start` (dist/src/main.js on the emulator)', () => {
  it('prints the metrics URL, and the counters there move with traffic', async () => {
    // A free port for METRICS_PORT (0 would turn metrics off).
    const metricsPort = await freePort();

    const main = startMain({ METRICS_PORT: String(metricsPort), LOG_LEVEL: 'silent' });
    try {
      await main.waitFor(/"Authorization": "Bearer [^"]+"/);
      const stdout = main.stdout();
      expect(stdout).toContain(`Metrics (Prometheus text format): http://127.0.0.1:${metricsPort}/metrics`);
      const url = /listening on (http:\/\/\S+)/.exec(stdout)![1]!;
      const token = /"Authorization": "Bearer ([^"]+)"/.exec(stdout)![1]!;
      const operations = async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const family = parsePrometheusTextFormat(text).find((f) => f.name === 'gateway_graphql_operations_total');
        return (family?.metrics ?? []).reduce((sum, m) => sum + Number(m.value), 0);
      };
      const before = await operations();
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'query Me { viewer { authenticated } }' }),
      });
      expect(response.status).toBe(200);
      expect(await operations()).toBe(before + 1);
    } finally {
      main.child.kill('SIGTERM');
    }
    expect((await main.exited)[0]).toBe(0);
  });
});
