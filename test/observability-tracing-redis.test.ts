/**
 * Redis command spans as a collector receives them: a real redis-server (test/helpers/redis.ts) holding
 * the shared state (REDIS_URL), a real OTLP/HTTP receiver (test/helpers/otlp-receiver.ts), and a traced
 * write: its rate-limit script and its lock commands must appear as client spans inside the request's
 * span tree, named by the command alone, with no key, value or argument anywhere in what was exported.
 */
import { runRecordingOtelLoads } from './helpers/otel-loads.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';
import { startStack, type Stack } from './helpers/stack.js';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const WRITE = 'mutation Write { updateSupportProfile(input: { email: "traced@contoso.example" }) { id email } }';

const inbound = () => {
  const hex = (n: number) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const traceId = hex(16);
  return { traceId, traceparent: `00-${traceId}-${hex(8)}-01` };
};

const requestSpans = (receiver: OtlpReceiver, traceId: string) =>
  receiver
    .waitFor((spans) => spans.some((s) => s.traceId === traceId && s.kind === SERVER))
    .then((spans) => spans.filter((s) => s.traceId === traceId));

const isRedis = (s: ReceivedSpan) => s.attributes['db.system.name'] === 'redis';

/** The span's ancestors, nearest first, within `spans`. */
function ancestors(span: ReceivedSpan, spans: readonly ReceivedSpan[]): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (let parent = spans.find((s) => s.spanId === span.parentSpanId); parent; parent = spans.find((s) => s.spanId === parent!.parentSpanId)) out.push(parent);
  return out;
}

describeWithRedis('tracing: one client span per Redis command', () => {
  let redis: RedisServer;
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    receiver = await startOtlpReceiver();
    stack = await startStack({
      env: {
        REDIS_URL: redis.url,
        // Never reached: the limiter's script runs on every request.
        RATE_LIMIT_PER_MINUTE: '100000',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '20',
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
    await redis?.close();
  });

  it('puts the rate-limit script and the lock commands under the request, with the command name and the server only', async () => {
    const { traceId, traceparent } = inbound();
    const response = await stack.graphql(WRITE, undefined, { headers: { traceparent } });
    expect(response.body.errors).toBeUndefined();
    const spans = await requestSpans(receiver, traceId);
    const server = spans.find((s) => s.kind === SERVER)!;
    const field = spans.find((s) => s.name === 'Mutation.updateSupportProfile')!;
    expect(field).toBeDefined();

    const commands = spans.filter(isRedis);
    // The rate-limit script (EVALSHA; EVAL once, when this fresh Redis does not know it yet), the lock's
    // SET NX PX, and its release script.
    const names = commands.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['EVALSHA', 'SET']));
    for (const span of commands) {
      expect(span.kind).toBe(CLIENT);
      expect(span.attributes).toEqual({
        'db.system.name': 'redis',
        'db.operation.name': span.name,
        'db.namespace': '0',
        'server.address': '127.0.0.1',
        'server.port': redis.port,
        ...(span.status.code === ERROR ? { 'error.type': expect.any(String) } : {}),
      });
      // In the request's tree: its ancestors end at the server span.
      expect(ancestors(span, spans).at(-1)?.spanId).toBe(server.spanId);
    }
    // The lock is taken inside the resolver: its SET is the root field's child.
    expect(commands.find((s) => s.name === 'SET')!.parentSpanId).toBe(field.spanId);

    // A fresh Redis knows no script: the first EVALSHA fails with NOSCRIPT (an error span with Redis's
    // error kind, not its message), and the same script follows as EVAL.
    const failed = commands.filter((s) => s.status.code === ERROR);
    expect(failed.length).toBeGreaterThan(0);
    for (const span of failed) {
      expect(span.name).toBe('EVALSHA');
      expect(span.attributes['error.type']).toBe('NOSCRIPT');
      expect(span.status.message).toBe('NOSCRIPT');
    }
    expect(names).toContain('EVAL');
  });

  it('exports no Redis key, value or script argument', async () => {
    const { traceId, traceparent } = inbound();
    await stack.graphql(WRITE, undefined, { headers: { traceparent } });
    const spans = await requestSpans(receiver, traceId);
    expect(spans.filter(isRedis).length).toBeGreaterThanOrEqual(3);
    const [, payload] = stack.token.split('.');
    const { tid, oid } = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as { tid: string; oid: string };
    const exported = Buffer.concat(receiver.requests.map((r) => r.raw)).toString('utf8');
    // Keys (`partner-bff:lock:support-profile:<tenant>`, `partner-bff:ratelimit:<tenant>:<oid>`), the lock
    // token, script bodies and hashes: none of it.
    for (const secret of ['partner-bff:', 'support-profile:', tid, oid, 'redis.call', 'PX', 'NX']) expect(exported).not.toContain(secret);
    expect(exported).not.toMatch(/\b[0-9a-f]{40}\b/); // a script's SHA-1
  });
});

describeWithRedis('tracing off: Redis commands load no tracing code', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.close());

  // As in observability-tracing.test.ts: the built gateway in its own process, every module resolution
  // recorded, here with the shared state in Redis and the rate limit on, so requests run Redis commands.
  const script = `
    const { gateway, url } = await startGateway({ PORT: '0', METRICS_PORT: '0', REDIS_URL: process.argv[1], RATE_LIMIT_PER_MINUTE: '100000' });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ viewer { authenticated } }"}' });
      statuses.push(res.status);
      await res.text();
    }
    const ready = await (await fetch(url + '/readyz')).json();
    await gateway.close();
    process.stdout.write(JSON.stringify({ loaded: [...loaded].sort(), statuses, redis: ready.redis }));
  `;

  it('runs the rate-limit script in Redis on every request and loads no OpenTelemetry SDK', () => {
    const result = runRecordingOtelLoads(script, [redis.url]);
    expect(result.stderr).toBe('');
    const { loaded, statuses, redis: health } = JSON.parse(result.stdout) as { loaded: string[]; statuses: number[]; redis: unknown };
    expect(statuses).toEqual([200, 200, 200]);
    expect(health).toMatchObject({ configured: true, reachable: true });
    // prom-client requires the (no-op) API package; nothing that traces is loaded.
    expect(loaded.filter((name) => name !== 'api')).toEqual([]);
  });
});
