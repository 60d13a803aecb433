/**
 * A request that is not sampled (here: an inbound `traceparent` whose sampled flag is 0, followed by the
 * default parent-based sampler; at OTEL_TRACES_SAMPLER_ARG=0.1 it is nine requests in ten) exports nothing
 * and builds no operation or root-field span, yet stays in its trace: every upstream try sends the trace's
 * id with the flag still 0, so the upstream does not sample it either, and its log lines carry the trace id.
 */
import { randomBytes } from 'node:crypto';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';
import { startStack, type Stack } from './helpers/stack.js';

const SUPPORT = 'query Support { supportProfile { id email } }';
const SERVER = 2;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('tracing: an unsampled request', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '20' } });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('exports nothing, and every upstream try still carries its trace id, unsampled', async () => {
    const unsampled = hex(16);
    const correlationId = '0d7e4a52-3f55-4c1e-9f0b-2a8e6c4d1b77';
    stack.emulator.clearRequests();
    stack.emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 503, retryAfter: '0.01' });
    const response = await stack.graphql(SUPPORT, undefined, { headers: { traceparent: `00-${unsampled}-${hex(8)}-00`, 'x-correlation-id': correlationId } });
    expect(response.body.errors).toBeUndefined();

    const tries = stack.emulator.requests({ service: 'partner-center', path: '/v1/profiles/support' }).map((r) => r.headers.traceparent);
    expect(tries).toHaveLength(2);
    for (const traceparent of tries) expect(traceparent).toMatch(new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
    const lines = stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.correlationId === correlationId);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.trace_id).toBe(unsampled);

    // A sampled request after it: once its server span is in, anything the first had queued would be too.
    const sampled = hex(16);
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent: `00-${sampled}-${hex(8)}-01` } });
    const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === sampled && s.kind === SERVER));
    expect(spans.filter((s) => s.traceId === sampled).map((s) => s.name)).toEqual(expect.arrayContaining(['POST /graphql', 'query Support', 'Query.supportProfile', 'GET']));
    expect(spans.filter((s) => s.traceId === unsampled)).toEqual([]);
  });
});

describe('tracing with OTEL_TRACES_SAMPLER=traceidratio (what the README recommends when clients are not trusted)', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.0001' },
    });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it("ignores the client's sampled flag: the trace id alone decides (and a client choosing its trace id still can)", async () => {
    // The ratio sampler folds the trace id's four 32-bit words with XOR and samples below ratio × 2^32.
    const flaggedButHigh = 'ffffffff000000000000000000000000'; // folds to 0xffffffff: never sampled below ratio 1
    const low = '00000000000000000000000000000001'; // folds to 1: sampled at any ratio above 0
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent: `00-${flaggedButHigh}-${hex(8)}-01` } });
    await stack.graphql(SUPPORT, undefined, { headers: { traceparent: `00-${low}-${hex(8)}-00` } });
    const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === low && s.kind === SERVER));
    expect(spans.filter((s) => s.traceId === flaggedButHigh)).toEqual([]);
  });
});
