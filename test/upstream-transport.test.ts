/**
 * The transport against a throwaway local server: retries, deadline, timeouts, connection faults,
 * headers. Time-sensitive assertions use the injected clock/sleep, never wall-clock measurements.
 */
import { randomUUID } from 'node:crypto';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import { PARTNER_CENTER, correlationVectorBase } from '../src/upstream/partner-center.js';
import { GRAPH } from '../src/upstream/graph.js';
import type { UpstreamCaller, UpstreamTransport, UpstreamTransportOptions } from '../src/upstream/transport.js';
import { UpstreamError } from '../src/errors.js';
import { AuthenticationError } from '../src/errors.js';
import { startTestUpstream } from './helpers/upstream-server.js';
import type { TestUpstream } from './helpers/upstream-server.js';
import { rejectionOf } from './helpers/rejection.js';

let upstream: TestUpstream;
let transport: UpstreamTransport | undefined;
let tokenCalls = 0;
const caller: UpstreamCaller = {
  correlationId: randomUUID(),
  getToken: async () => {
    tokenCalls++;
    return 'test-token';
  },
};

function makeTransport(options: UpstreamTransportOptions = {}): UpstreamTransport {
  transport = createUpstreamTransport({ timeoutMs: 1000, deadlineMs: 3000, retryBaseMs: 1, retryMaxDelayMs: 5, circuitBreaker: false, ...options });
  return transport;
}

/** A sleep that records what it was asked for and waits for real (short values only). */
function recordingSleep(): { sleeps: number[]; sleep: (ms: number) => Promise<void> } {
  const sleeps: number[] = [];
  return { sleeps, sleep: (ms) => (sleeps.push(ms), new Promise((r) => setTimeout(r, ms))) };
}

beforeEach(async () => {
  upstream = await startTestUpstream();
  tokenCalls = 0;
});
afterEach(async () => {
  transport?.close();
  transport = undefined;
  await upstream.close();
});

const pc = (path = '/v1/profiles/support') => ({ upstream: PARTNER_CENTER, caller, method: 'GET' as const, url: `${upstream.url}${path}` });
const graph = (path = '/beta/directory/externalUserProfiles/p1') => ({ upstream: GRAPH, caller, method: 'GET' as const, url: `${upstream.url}${path}` });

describe('headers', () => {
  it('sends auth, accept, correlation id, MS-CV, locale and an MS-RequestId to Partner Center', async () => {
    upstream.setHandler(() => ({ status: 200, body: { email: 'a@b.c' }, headers: { 'ms-requestid': 'up-1' } }));
    const res = await makeTransport().request<{ email: string }>(pc());
    expect(res).toMatchObject({ status: 200, body: { email: 'a@b.c' }, requestId: 'up-1', tries: 1 });
    const h = upstream.requests[0]!.headers;
    expect(h.authorization).toBe('Bearer test-token');
    expect(h.accept).toBe('application/json');
    expect(h['ms-correlationid']).toBe(caller.correlationId);
    expect(h['ms-cv']).toBe(`${correlationVectorBase(caller.correlationId)}.1`);
    expect(h['ms-cv']).toMatch(/^[A-Za-z0-9+/]{22}\.1$/);
    expect(h['x-locale']).toBe('en-US');
    expect(h['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h['client-request-id']).toBeUndefined();
  });

  it('sends client-request-id and Retry-Attempt on retries to Graph', async () => {
    upstream.setHandler((_req, i) => (i < 2 ? { status: 503 } : { status: 200, body: { id: 'p1' } }));
    const res = await makeTransport().request(graph());
    expect(res.tries).toBe(3);
    expect(upstream.requests.map((r) => r.headers['retry-attempt'])).toEqual([undefined, '1', '2']);
    expect(upstream.requests.every((r) => r.headers['client-request-id'] === caller.correlationId)).toBe(true);
    expect(upstream.requests[0]!.headers['ms-correlationid']).toBeUndefined();
  });

  it('does not let a caller override the transport headers', async () => {
    await makeTransport().request({ ...pc(), headers: { Authorization: 'Bearer stolen', 'MS-ContinuationToken': 'tok' } });
    expect(upstream.requests[0]!.headers.authorization).toBe('Bearer test-token');
    expect(upstream.requests[0]!.headers['ms-continuationtoken']).toBe('tok');
  });
});

describe('retries', () => {
  it('429 then success: one logical call, one token, waits exactly the Retry-After', async () => {
    upstream.setHandler((_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '0.05' }, body: { statusCode: 429, message: 'slow down' } } : { status: 200, body: {} }));
    const { sleeps, sleep } = recordingSleep();
    const res = await makeTransport({ sleep }).request(pc());
    expect(res.tries).toBe(2);
    expect(sleeps).toEqual([50]);
    expect(tokenCalls).toBe(1);
    // The retry of one logical call keeps its MS-RequestId; MS-CV counts the tries.
    const [a, b] = upstream.requests;
    expect(b!.headers['ms-requestid']).toBe(a!.headers['ms-requestid']);
    expect([a!.headers['ms-cv'], b!.headers['ms-cv']].map((cv) => String(cv).split('.')[1])).toEqual(['1', '2']);
  });

  it('retries 503 and 504 up to maxRetries, then fails UPSTREAM_UNAVAILABLE', async () => {
    upstream.setHandler((_req, i) => ({ status: i % 2 ? 504 : 503, headers: { 'ms-requestid': `r${i}` } }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxRetries: 2 }).request(pc()));
    expect(upstream.requests).toHaveLength(3);
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, requestId: 'r2' });
  });

  it('persistent 500 → UPSTREAM_UNAVAILABLE carrying the upstream request id, not retried (docs/upstream.md §3.1)', async () => {
    upstream.setHandler(() => ({ status: 500, headers: { 'ms-requestid': 'pc-500' }, body: { code: 2000, description: 'Internal error', source: 'PartnerFD' } }));
    const err = await rejectionOf<UpstreamError>(makeTransport().request(pc()));
    expect(upstream.requests).toHaveLength(1);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 500, requestId: 'pc-500', upstreamCode: '2000', correlationId: caller.correlationId });
  });

  it('403 with a Partner Center body → FORBIDDEN carrying the upstream code, not retried', async () => {
    upstream.setHandler(() => ({ status: 403, headers: { 'ms-requestid': 'pc-403' }, body: { code: 900150, description: 'The role lacks rights', data: [], source: 'PartnerFD' } }));
    const err = await rejectionOf<UpstreamError>(makeTransport().request(pc()));
    expect(upstream.requests).toHaveLength(1);
    expect(err.code).toBe('FORBIDDEN');
    expect(err.extensions()).toEqual({ upstream: { service: 'partner-center', status: 403, code: '900150', requestId: 'pc-403', correlationId: caller.correlationId } });
  });

  it.each([400, 401, 404, 409, 412])('never retries %i', async (status) => {
    upstream.setHandler(() => ({ status }));
    await rejectionOf<UpstreamError>(makeTransport().request(graph()));
    expect(upstream.requests).toHaveLength(1);
  });

  it('maps a 2xx with a non-JSON body to UPSTREAM_ERROR, and an empty 2xx to no body', async () => {
    upstream.setHandler(() => ({ status: 200, body: '<html>proxy login</html>' }));
    expect((await rejectionOf<UpstreamError>(makeTransport().request(pc()))).code).toBe('UPSTREAM_ERROR');
    upstream.setHandler(() => ({ status: 204 }));
    expect((await transport!.request(graph())).body).toBeUndefined();
  });

  it('does not follow redirects (they would carry the bearer token elsewhere)', async () => {
    upstream.setHandler(() => ({ status: 302, headers: { location: 'http://example.invalid/steal' } }));
    const err = await rejectionOf<UpstreamError>(makeTransport().request(pc()));
    expect(err).toMatchObject({ code: 'UPSTREAM_ERROR', status: 302 });
  });
});

describe('deadline', () => {
  it('never waits past the deadline (fake clock)', async () => {
    let t = 0;
    const sleeps: number[] = [];
    upstream.setHandler(() => ({ status: 503 }));
    const tr = makeTransport({
      deadlineMs: 1000,
      maxRetries: 10,
      retryBaseMs: 400,
      retryMaxDelayMs: 10_000,
      random: () => 0.999,
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
    });
    const err = await rejectionOf<UpstreamError>(tr.request(pc()));
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(sleeps).toEqual([399]); // the next wait (799 ms) would end past the deadline: stop instead
    expect(t).toBeLessThanOrEqual(1000);
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails fast with RATE_LIMITED + retryAfter when Retry-After exceeds the deadline', async () => {
    upstream.setHandler(() => ({ status: 429, headers: { 'retry-after': '120', 'ms-requestid': 'pc-429' }, body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 120 seconds.' } }));
    const { sleeps, sleep } = recordingSleep();
    const err = await rejectionOf<UpstreamError>(makeTransport({ sleep }).request(pc()));
    expect(sleeps).toEqual([]);
    expect(upstream.requests).toHaveLength(1);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 120, requestId: 'pc-429' });
    expect(err.extensions().retryAfter).toBe(120);
  });

  it('honours an HTTP-date Retry-After against the deadline too', async () => {
    const t = Date.parse('2025-02-13T10:00:00Z');
    upstream.setHandler(() => ({ status: 429, headers: { 'retry-after': 'Thu, 13 Feb 2025 10:01:00 GMT' } }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ now: () => t }).request(graph()));
    expect(err).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60 });
  });

  it('still 429 after the retries → RATE_LIMITED with the last Retry-After', async () => {
    upstream.setHandler(() => ({ status: 429, headers: { 'retry-after': '0.01' } }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxRetries: 2 }).request(graph()));
    expect(upstream.requests).toHaveLength(3);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
  });

  it('a 429 without Retry-After still carries a retryAfter', async () => {
    upstream.setHandler(() => ({ status: 429 }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxRetries: 0 }).request(graph()));
    expect(err.retryAfter).toBe(1);
  });
});

describe('connection faults', () => {
  it('retries a connection reset and succeeds', async () => {
    upstream.setHandler((_req, i) => (i === 0 ? { reset: true } : { status: 200, body: { ok: true } }));
    const res = await makeTransport().request(pc());
    expect(res.tries).toBe(2);
  });

  it('persistent reset → UPSTREAM_UNAVAILABLE with status 0', async () => {
    upstream.setHandler(() => ({ reset: true }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxRetries: 2 }).request(pc()));
    expect(upstream.requests).toHaveLength(3);
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 0 });
    expect(err.message).toMatch(/connection failed \(ECONNRESET\)/);
  });

  it('connection refused → UPSTREAM_UNAVAILABLE', async () => {
    const url = upstream.url;
    await upstream.close();
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxRetries: 1 }).request({ ...pc(), url: `${url}/v1/profiles/support` }));
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 0 });
    upstream = await startTestUpstream(); // for afterEach
  });

  it('a timed-out try is retried like a connection failure', async () => {
    upstream.setHandler((_req, i) => (i === 0 ? { hang: true } : { status: 200, body: {} }));
    const res = await makeTransport({ timeoutMs: 100 }).request(graph());
    expect(res.tries).toBe(2);
  });

  it('a call that keeps timing out fails UPSTREAM_UNAVAILABLE within its deadline', async () => {
    upstream.setHandler(() => ({ hang: true }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ timeoutMs: 100, deadlineMs: 250, maxRetries: 10 }).request(graph()));
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 0 });
    expect(err.message).toMatch(/timed out/);
    // Tries of 100 ms, the last shortened to what is left of 250 ms: never a 4th one.
    expect(upstream.requests.length).toBeLessThanOrEqual(3);
  });
});

describe('beforeTry (the write lock: lease check and try record)', () => {
  it("is awaited before each try, with that try's timeout (never past the deadline)", async () => {
    upstream.setHandler((_req, i) => (i < 1 ? { status: 503 } : { status: 200, body: {} }));
    const seen: Array<{ timeoutMs: number; sentBefore: number }> = [];
    await makeTransport({ timeoutMs: 1000, deadlineMs: 3000 }).request({
      ...pc(),
      method: 'PUT',
      json: {},
      beforeTry: async (timeoutMs) => {
        seen.push({ timeoutMs, sentBefore: upstream.requests.length });
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
    });
    expect(seen).toEqual([
      { timeoutMs: 1000, sentBefore: 0 },
      { timeoutMs: 1000, sentBefore: 1 },
    ]);
    const shortened: number[] = [];
    await makeTransport({ timeoutMs: 1000, deadlineMs: 600 }).request({ ...pc(), beforeTry: (timeoutMs) => void shortened.push(timeoutMs) });
    expect(shortened).toHaveLength(1);
    expect(shortened[0]).toBeLessThanOrEqual(600);
  });

  it('tells what it gives back how each try ended: its status, 0 for no answer', async () => {
    upstream.setHandler((_req, i) => (i < 1 ? { status: 503 } : i < 2 ? { status: 200, delayMs: 500 } : { status: 409 }));
    const ends: number[] = [];
    const error = await rejectionOf(
      makeTransport({ timeoutMs: 200, deadlineMs: 3000 }).request({ ...pc(), method: 'PUT', json: {}, beforeTry: async () => (status: number) => void ends.push(status) }),
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect(ends).toEqual([503, 0, 409]);
  });

  it('ends the call unsent when it rejects, with its error', async () => {
    const lost = new Error('lease lost');
    const error = await rejectionOf(makeTransport().request({ ...pc(), method: 'PUT', json: {}, beforeTry: async () => Promise.reject(lost) }));
    expect(error).toBe(lost);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('token source', () => {
  it('lets its error propagate unchanged and sends nothing', async () => {
    const refused = new AuthenticationError('token expired');
    const err = await rejectionOf<UpstreamError>(makeTransport().request({ ...pc(), caller: { ...caller, getToken: async () => Promise.reject(refused) } }));
    expect(err).toBe(refused);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('circuit breaker', () => {
  it('opens after 5 failed logical calls and then fails fast without a request', async () => {
    upstream.setHandler(() => ({ status: 500 }));
    const tr = makeTransport({ circuitBreaker: {} });
    for (let i = 0; i < 5; i++) await rejectionOf<UpstreamError>(tr.request(pc()));
    expect(tr.circuitState('partner-center')).toBe('open');
    const err = await rejectionOf<UpstreamError>(tr.request(pc()));
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 0 });
    expect(upstream.requests).toHaveLength(5);
    // Per service: Graph is unaffected.
    upstream.setHandler(() => ({ status: 200, body: {} }));
    await tr.request(graph());
    expect(tr.circuitState('graph')).toBe('closed');
  });

  it('4xx answers do not open it', async () => {
    upstream.setHandler(() => ({ status: 404 }));
    const tr = makeTransport({ circuitBreaker: {} });
    for (let i = 0; i < 6; i++) await rejectionOf<UpstreamError>(tr.request(pc()));
    expect(upstream.requests).toHaveLength(6);
  });
});

describe('response size cap', () => {
  const MiB = 1024 * 1024;

  it('aborts a chunked answer over maxResponseBytes with UPSTREAM_ERROR, without reading the rest', async () => {
    upstream.setHandler(() => ({ stream: { bytes: 256 * MiB } }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxResponseBytes: MiB }).request(graph()));
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'UPSTREAM_ERROR', status: 200 });
    expect(upstream.requests).toHaveLength(1); // not retried
    const [stream] = upstream.streams;
    // The gateway closed the connection long before the server could write it all (socket buffers
    // let a few MiB through on loopback).
    expect(await stream!.outcome).toBe('closed');
    expect(stream!.written).toBeLessThan(64 * MiB);
  });

  it('aborts at once when Content-Length announces more than the cap', async () => {
    upstream.setHandler(() => ({ stream: { bytes: 256 * MiB, headers: { 'content-length': String(256 * MiB) } } }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxResponseBytes: MiB }).request(pc()));
    expect(err).toMatchObject({ code: 'UPSTREAM_ERROR', status: 200 });
    expect(await upstream.streams[0]!.outcome).toBe('closed');
    expect(upstream.streams[0]!.written).toBeLessThan(64 * MiB);
  });

  it('counts decompressed bytes: a small gzip answer that inflates past the cap is aborted', async () => {
    upstream.setHandler(() => ({ stream: { bytes: 256 * MiB, gzip: true } }));
    const err = await rejectionOf<UpstreamError>(makeTransport({ maxResponseBytes: MiB }).request(graph()));
    expect(err).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(await upstream.streams[0]!.outcome).toBe('closed');
    expect(upstream.streams[0]!.produced).toBeLessThan(128 * MiB);
  });

  it('an error answer over the cap is UPSTREAM_ERROR too, and an answer under it is read whole', async () => {
    upstream.setHandler(() => ({ stream: { bytes: 256 * MiB, status: 500 } }));
    const tr = makeTransport({ maxResponseBytes: MiB });
    expect(await rejectionOf<UpstreamError>(tr.request(pc()))).toMatchObject({ code: 'UPSTREAM_ERROR', status: 500 });
    upstream.setHandler(() => ({ stream: { bytes: MiB - 1 } }));
    const res = await tr.request<{ pad: string }>(graph());
    expect(res.body?.pad).toHaveLength(MiB - 1 - '{"pad":""}'.length);
  });

  it('defaults to 8 MiB', async () => {
    // Generous timeouts: 8 MiB must get through on a loaded machine.
    const tr = makeTransport({ timeoutMs: 20_000, deadlineMs: 25_000 });
    upstream.setHandler(() => ({ stream: { bytes: 8 * MiB + 1 } }));
    expect(await rejectionOf<UpstreamError>(tr.request(graph()))).toMatchObject({ code: 'UPSTREAM_ERROR' });
    upstream.setHandler(() => ({ stream: { bytes: 8 * MiB } }));
    expect((await tr.request(graph())).status).toBe(200);
  });
});

describe('probe', () => {
  it('counts any HTTP answer as reachable and no answer as unreachable', async () => {
    upstream.setHandler(() => ({ status: 404 }));
    const tr = makeTransport();
    expect(await tr.probe(`${upstream.url}/`, 500)).toEqual({ reachable: true, status: 404 });
    expect(upstream.requests[0]!.headers.authorization).toBeUndefined();
    upstream.setHandler(() => ({ reset: true }));
    expect(await tr.probe(`${upstream.url}/`, 500)).toEqual({ reachable: false, error: 'ECONNRESET' });
  });
});
