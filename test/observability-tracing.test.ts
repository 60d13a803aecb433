/**
 * Traces as a collector receives them: a real OTLP/HTTP receiver on 127.0.0.1 (test/helpers/otlp-receiver.ts,
 * decoding http/json and http/protobuf itself), requests carrying a W3C `traceparent`, and the span tree
 * checked end to end: the inbound trace continued, parent links, attributes, the `traceparent` each
 * upstream try sent as the emulator recorded it, and nothing secret in anything exported.
 */
import { randomBytes } from 'node:crypto';
import { seedData } from '../src/emulator/index.js';
import { runRecordingOtelLoads } from './helpers/otel-loads.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { startStack, startStackForFile, type Stack } from './helpers/stack.js';

const SUPPORT = 'query Support { supportProfile { id email } }';
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const PASSWORD = 'Tr4ce-Secret-Passw0rd!';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const inbound = () => {
  const traceId = hex(16);
  const parentId = hex(8);
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
};

/** Resolves once the server span of `traceId` (the last span of a request to end) has arrived. */
const requestSpans = (receiver: OtlpReceiver, traceId: string) =>
  receiver
    .waitFor((spans) => spans.some((s) => s.traceId === traceId && s.kind === SERVER))
    .then((spans) => spans.filter((s) => s.traceId === traceId));

const one = (spans: readonly ReceivedSpan[], predicate: (s: ReceivedSpan) => boolean): ReceivedSpan => {
  const found = spans.filter(predicate);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('tracing over OTLP/HTTP (http/json)', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_SERVICE_NAME: 'gateway-under-test' },
    });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('continues the inbound trace: server > operation > root field > one client span per upstream try, each try sending its own traceparent', async () => {
    const { traceId, parentId, traceparent } = inbound();
    stack.emulator.clearRequests();
    stack.emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 503, retryAfter: '0.01' });
    const response = await stack.graphql(SUPPORT, undefined, { headers: { traceparent, tracestate: 'vendor=opaque' } });
    expect(response.body.errors).toBeUndefined();

    const spans = await requestSpans(receiver, traceId);
    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType?.startsWith('application/json'))).toBe(true);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(['gateway-under-test']));

    const server = one(spans, (s) => s.kind === SERVER);
    expect(server.parentSpanId).toBe(parentId);
    expect(server.name).toBe('POST /graphql');
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'url.path': '/graphql', 'http.response.status_code': 200 });

    const operation = one(spans, (s) => s.parentSpanId === server.spanId);
    expect(operation.name).toBe('query Support');
    expect(operation.attributes).toMatchObject({ 'graphql.operation.name': 'Support', 'graphql.operation.type': 'query' });
    expect(operation.status.code).not.toBe(ERROR);

    const field = one(spans, (s) => s.parentSpanId === operation.spanId);
    expect(field.name).toBe('Query.supportProfile');
    expect(field.attributes).toMatchObject({ 'graphql.field.name': 'supportProfile' });

    const tries = spans.filter((s) => s.kind === CLIENT && s.attributes['http.request.method'] === 'GET');
    expect(tries.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 200]);
    for (const t of tries) {
      expect(t.parentSpanId).toBe(field.spanId);
      expect(t.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'url.path': '/v1/profiles/support', 'gateway.upstream.service': 'partner-center' });
    }
    expect(tries[0]!.status).toMatchObject({ code: ERROR });
    expect(tries[0]!.attributes['error.type']).toBe('UPSTREAM_UNAVAILABLE');
    expect(tries[0]!.attributes['http.request.resend_count']).toBeUndefined();
    expect(tries[1]!.attributes['http.request.resend_count']).toBe(1);
    expect(tries[1]!.status.code).not.toBe(ERROR);

    // What the upstream saw: each try's own span as its parent, in the caller's trace, sampled.
    const seen = stack.emulator.requests({ service: 'partner-center', path: '/v1/profiles/support' }).map((r) => r.headers.traceparent);
    expect(seen).toEqual(tries.map((t) => `00-${traceId}-${t.spanId}-01`));

    // The token exchange (this caller's first call) nests under the field that needed it.
    const exchange = one(spans, (s) => s.name === 'token exchange');
    expect(exchange.parentSpanId).toBe(field.spanId);
    expect(exchange.attributes).toEqual({ 'gateway.upstream.service': 'partner-center' });
  });

  it('records the contract error code on the operation and the root field, and failed tries', async () => {
    const { traceId, traceparent } = inbound();
    const response = await stack.graphql('mutation Bad { updateSupportProfile(input: { email: "nope" }) { id } }', undefined, { headers: { traceparent } });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const spans = await requestSpans(receiver, traceId);
    const server = one(spans, (s) => s.kind === SERVER);
    const operation = one(spans, (s) => s.parentSpanId === server.spanId);
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'Bad', 'error.type': 'BAD_USER_INPUT' });
    expect(operation.status.code).toBe(ERROR);
    const field = one(spans, (s) => s.parentSpanId === operation.spanId);
    expect(field.attributes['error.type']).toBe('BAD_USER_INPUT');
    expect(field.status.code).toBe(ERROR);
    expect(spans.filter((s) => s.kind === CLIENT && s.name !== 'token exchange')).toHaveLength(0);
  });

  it('starts a new trace when no traceparent comes in, and tags every log line of a traced request', async () => {
    const correlationId = '6f1f3b0e-7f0c-4a53-9b1a-6f7d2a1c9e10';
    const { traceId, traceparent } = inbound();
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent, 'x-correlation-id': correlationId } });
    const spans = await requestSpans(receiver, traceId);
    const server = one(spans, (s) => s.kind === SERVER);
    const lines = stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.correlationId === correlationId);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ trace_id: traceId, span_id: server.spanId });

    const before = receiver.spans.length;
    await stack.graphql(SUPPORT);
    const fresh = await receiver.waitFor((all) => all.slice(before).some((s) => s.kind === SERVER));
    const root = fresh.slice(before).find((s) => s.kind === SERVER)!;
    expect(root.parentSpanId).toBe('');
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('exports no token, password, secret or body', async () => {
    const { traceId, traceparent } = inbound();
    const customer = seedData.customers[0]!;
    const mutation = `mutation Pw($c: ID!, $u: ID!) { updateCustomerUser(customerId: $c, userId: $u, input: { passwordProfile: { password: "${PASSWORD}" } }) { id } }`;
    await stack.graphql(mutation, { c: customer.id, u: customer.userIds[0] }, { headers: { traceparent } });
    await requestSpans(receiver, traceId);
    const exported = Buffer.concat(receiver.requests.map((r) => r.raw)).toString('utf8');
    expect(exported).not.toContain(PASSWORD);
    expect(exported).not.toContain(stack.token);
    expect(exported).not.toContain(stack.token.split('.')[2]!);
    expect(exported).not.toMatch(/bearer/i);
    expect(exported).not.toContain('emulator-gateway-secret');
    expect(exported).not.toContain('passwordProfile');
    for (const span of receiver.spans) {
      for (const value of Object.values(span.attributes)) expect(String(value)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    }
  });
});

describe('tracing over OTLP/HTTP (http/protobuf, the default)', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '20' } });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('exports protobuf that decodes to the same tree', async () => {
    const { traceId, parentId, traceparent } = inbound();
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent } });
    const spans = await requestSpans(receiver, traceId);
    expect(receiver.requests.every((r) => r.contentType === 'application/x-protobuf')).toBe(true);
    const server = one(spans, (s) => s.kind === SERVER);
    expect(server.parentSpanId).toBe(parentId);
    expect(server.serviceName).toBe('partner-bff-gateway');
    const operation = one(spans, (s) => s.parentSpanId === server.spanId);
    expect(operation.attributes).toMatchObject({ 'graphql.operation.name': 'Support', 'graphql.operation.type': 'query' });
    const field = one(spans, (s) => s.parentSpanId === operation.spanId);
    const [upstreamTry] = spans.filter((s) => s.kind === CLIENT && s.name === 'GET');
    expect(upstreamTry?.parentSpanId).toBe(field.spanId);
    expect(upstreamTry?.attributes).toMatchObject({ 'http.response.status_code': 200, 'url.path': '/v1/profiles/support' });
  });
});

describe('tracing off', () => {
  const stack = startStackForFile();

  it('forwards an inbound traceparent and tracestate upstream unchanged, on every try', async () => {
    const { traceparent } = inbound();
    stack.emulator.clearRequests();
    stack.emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 503, retryAfter: '0.01' });
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent, tracestate: 'vendor=opaque' } });
    const tries = stack.emulator.requests({ service: 'partner-center', path: '/v1/profiles/support' });
    expect(tries).toHaveLength(2);
    for (const t of tries) expect(t.headers).toMatchObject({ traceparent, tracestate: 'vendor=opaque' });
  });

  it('forwards no malformed traceparent, and none when the caller sent none', async () => {
    stack.emulator.clearRequests();
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent: 'not-a-traceparent' } });
    await stack.graphql(SUPPORT);
    for (const r of stack.emulator.requests({ service: 'partner-center' })) expect(r.headers.traceparent).toBeUndefined();
  });
});

describe('tracing off costs nothing', () => {
  // A separate process (the built gateway), so what is loaded is this gateway's alone: every module
  // resolution is recorded by a resolve hook, then a request is served with tracing off, then on.
  const script = `
    const serve = async (env) => {
      const { gateway, url } = await startGateway(env);
      await (await fetch(url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, body: '{"query":"{ viewer { authenticated } }"}' })).text();
      await gateway.close();
      return [...loaded].sort();
    };
    const off = await serve({ PORT: '0', METRICS_PORT: '0' });
    const on = await serve({ PORT: '0', METRICS_PORT: '0', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_off' });
    process.stdout.write(JSON.stringify({ off, on }));
  `;

  it('loads no OpenTelemetry SDK, context manager or exporter with tracing off, and only the configured exporter with it on', () => {
    const result = runRecordingOtelLoads(script);
    expect(result.stderr).toBe('');
    const { off, on } = JSON.parse(result.stdout) as { off: string[]; on: string[] };
    // prom-client itself requires the (no-op) API package for exemplars; nothing that traces is loaded.
    expect(off.filter((name) => name !== 'api')).toEqual([]);
    expect(on).toEqual(expect.arrayContaining(['api', 'sdk-trace', 'exporter-trace-otlp-http']));
    expect(on).not.toContain('exporter-trace-otlp-proto');
  });
});
