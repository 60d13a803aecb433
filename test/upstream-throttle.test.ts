/**
 * Throttle windows in the transport (src/upstream/throttle.ts), against a throwaway local server on a
 * fake clock: a 429 whose Retry-After reaches past the deadline opens a window for the call's scope;
 * calls in it are refused without a request, or wait for its end when their deadline allows; the window
 * ends on time; other scopes go on; the upstream's throttle-limit ratio reaches the observer.
 */
import { randomUUID } from 'node:crypto';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import type { UpstreamCaller, UpstreamTransport, UpstreamTransportOptions } from '../src/upstream/transport.js';
import { decideWindow, throttleKey } from '../src/upstream/throttle.js';
import type { UpstreamObserver } from '../src/upstream/observer.js';
import { GRAPH } from '../src/upstream/graph.js';
import { PARTNER_CENTER } from '../src/upstream/partner-center.js';
import { InProcessThrottleWindows } from '../src/state/throttle-windows.js';
import { UpstreamError } from '../src/errors.js';
import { startTestUpstream, type TestUpstream } from './helpers/upstream-server.js';
import { rejectionOf } from './helpers/rejection.js';

let upstream: TestUpstream;
const transports: UpstreamTransport[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await upstream.close();
});

/** A fake clock whose sleeps advance it (recorded), so no test waits for real. */
function fakeClock(start = 1_000_000) {
  const clock = { now: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
  };
}

const callerOf = (tenantId: string | undefined): UpstreamCaller => ({ correlationId: randomUUID(), getToken: async () => 'token', tenantId });

function observed() {
  const events: string[] = [];
  const observer: UpstreamObserver = {
    onTry: () => ({ end: () => {} }),
    onRetry: () => {},
    onThrottled: (service) => void events.push(`throttled ${service}`),
    onThrottleLimit: (service, ratio) => void events.push(`limit ${service} ${ratio}`),
  };
  return { events, observer };
}

describe('throttle windows in the transport', () => {
  let tenant: string;
  let fake: ReturnType<typeof fakeClock>;
  let windows: InProcessThrottleWindows;
  let throttleFor: Set<string>;

  beforeEach(async () => {
    tenant = randomUUID();
    fake = fakeClock();
    windows = new InProcessThrottleWindows({ now: fake.now });
    throttleFor = new Set();
    upstream = await startTestUpstream((req) => {
      const path = req.url.split('?')[0]!;
      return [...throttleFor].some((p) => path.startsWith(p))
        ? { status: 429, headers: { 'retry-after': '60', 'x-ms-throttle-limit-percentage': '1.05' }, body: { error: { code: 'TooManyRequests', message: 'Please retry again later.' } } }
        : { status: 200, body: { id: 'p1' } };
    });
  });

  function transport(options: UpstreamTransportOptions = {}): UpstreamTransport {
    const t = createUpstreamTransport({ deadlineMs: 5_000, timeoutMs: 1_000, circuitBreaker: false, now: fake.now, sleep: fake.sleep, throttleWindows: windows, ...options });
    transports.push(t);
    return t;
  }
  const graphGet = (caller: UpstreamCaller, path = '/beta/directory/externalUserProfiles/p1') =>
    ({ upstream: GRAPH, caller, method: 'GET' as const, url: `${upstream.url}${path}` });

  it('refuses the scope\'s calls without a request until the window ends, on time; another tenant goes on', async () => {
    const { events, observer } = observed();
    const t = transport({ observer });
    const caller = callerOf(tenant);
    throttleFor.add('/beta/');

    const first = await rejectionOf(t.request(graphGet(caller)));
    expect(first).toBeInstanceOf(UpstreamError);
    expect(first).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60, status: 429 });
    expect(upstream.requests).toHaveLength(1);
    expect(windows.remainingMs(throttleKey('graph', tenant)!)).toBe(60_000);

    fake.clock.now += 20_500;
    const refused = await rejectionOf(t.request(graphGet(caller)));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 40, service: 'graph', status: 429 });
    expect(upstream.requests).toHaveLength(1);

    // Another tenant is not held (its own 429s are its own).
    throttleFor.clear();
    await t.request(graphGet(callerOf(randomUUID())));
    expect(upstream.requests).toHaveLength(2);

    // A deadline too short to wait for even 1 ms of window: refused up to the end, sent at the end.
    const impatient = transport({ observer, deadlineMs: 40 });
    fake.clock.now += 39_499; // 1 ms before the end
    expect(await rejectionOf(impatient.request(graphGet(caller)))).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
    expect(upstream.requests).toHaveLength(2);
    fake.clock.now += 1; // the end
    await impatient.request(graphGet(caller));
    expect(upstream.requests).toHaveLength(3);
    expect(fake.clock.sleeps).toEqual([]);
    expect(events).toEqual(['limit graph 1.05', 'throttled graph', 'throttled graph']);
  });

  it('lets a call whose deadline reaches past the window\'s end wait for it, then go', async () => {
    const caller = callerOf(tenant);
    throttleFor.add('/beta/');
    await rejectionOf(transport().request(graphGet(caller)));
    throttleFor.clear();
    fake.clock.now += 10_000;
    const patient = transport({ deadlineMs: 120_000 });
    const res = await patient.request(graphGet(caller));
    expect(res.status).toBe(200);
    expect(fake.clock.sleeps).toEqual([50_000]);
    expect(upstream.requests).toHaveLength(2);
  });

  it('opens no window when the deadline can wait for the Retry-After (the call retries itself)', async () => {
    const caller = callerOf(tenant);
    let n = 0;
    upstream.setHandler(() => (n++ === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200, body: { id: 'p1' } }));
    await transport().request(graphGet(caller));
    expect(fake.clock.sleeps).toEqual([2_000]);
    expect(windows.remainingMs(throttleKey('graph', tenant)!)).toBe(0);
  });

  it("scopes Partner Center windows by the route's customer: the partner's other customers and routes go on", async () => {
    const caller = callerOf(tenant);
    const t = transport();
    const pc = (path: string, throttleScope?: string) => ({ upstream: PARTNER_CENTER, caller, method: 'GET' as const, url: `${upstream.url}${path}`, throttleScope });
    throttleFor.add('/v1/customers/c1/');
    await rejectionOf(t.request(pc('/v1/customers/c1/users', 'customer:c1')));
    expect(await rejectionOf(t.request(pc('/v1/customers/c1/users/u1', 'customer:c1')))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(upstream.requests).toHaveLength(1);
    await t.request(pc('/v1/customers/c2/users', 'customer:c2'));
    await t.request(pc('/v1/profiles/support'));
    expect(upstream.requests).toHaveLength(3);
  });

  it('has no window for a call without a tenant, and none without a store', async () => {
    throttleFor.add('/beta/');
    const anonymous = callerOf(undefined);
    await rejectionOf(transport().request(graphGet(anonymous)));
    await rejectionOf(transport().request(graphGet(anonymous)));
    expect(upstream.requests).toHaveLength(2);
    const caller = callerOf(tenant);
    const storeless = transport({ throttleWindows: undefined });
    await rejectionOf(storeless.request(graphGet(caller)));
    await rejectionOf(storeless.request(graphGet(caller)));
    expect(upstream.requests).toHaveLength(4);
  });
});

describe('decideWindow', () => {
  it('goes without a window, waits when the deadline allows the end plus a try, else refuses with whole seconds', () => {
    expect(decideWindow(0, 0, 1000)).toEqual({ kind: 'go' });
    expect(decideWindow(900, 0, 1000)).toEqual({ kind: 'wait', ms: 900 });
    expect(decideWindow(980, 0, 1000)).toEqual({ kind: 'refuse', retryAfter: 1 });
    expect(decideWindow(59_001, 0, 30_000)).toEqual({ kind: 'refuse', retryAfter: 60 });
  });

  it('keys a window by service, tenant (case-insensitive) and the finer scope', () => {
    expect(throttleKey('graph', 'ABC')).toBe('graph:abc');
    expect(throttleKey('partner-center', 'abc', 'customer:c1')).toBe('partner-center:abc:customer:c1');
    expect(throttleKey('graph', undefined)).toBeUndefined();
  });
});
