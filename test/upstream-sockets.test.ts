/**
 * The upstream socket pools under a slow upstream (UPSTREAM_MAX_SOCKETS): many more calls in flight at once
 * than the 64 sockets per host the transport used to allow, one pool per service even when both services
 * are on one host, and each pool as `GET /metrics` shows it. The slow upstream is a proxy to the emulator
 * that holds Partner Center's support-profile reads until the test lets them go, and counts how many it
 * holds at once; everything else passes straight through.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startEmulator, ALL_GATEWAY_SCOPES, seedData, type Emulator } from '../src/emulator/index.js';
import { startStack, type Stack } from './helpers/stack.js';
import { startTestUpstream, type TestUpstream } from './helpers/upstream-server.js';

const SUPPORT = 'query Support { supportProfile { id email } }';
const PROFILE = `query Profile { externalUserProfile(id: "${seedData.externalUserProfileIds[0]}") { id } }`;

/** The support profile the holding upstream answers its held reads with, when told to answer them itself. */
const HELD_ANSWER = { email: 'support@contoso.example', profileType: 'support_profile', attributes: { objectType: 'PartnerSupportProfile' } };

/**
 * A proxy to `emulator` that holds every `GET /v1/profiles/support` until `release()`, then passes it on
 * (or, with `answerHeld`, answers it with HELD_ANSWER itself).
 */
interface HoldingUpstream {
  readonly upstream: TestUpstream;
  /** Support-profile reads held right now. */
  held(): number;
  /** The most held at once. */
  maxHeld(): number;
  /** Resolves once `n` reads are held at once. */
  whenHeld(n: number): Promise<void>;
  /** Lets every held read (and any later one) go on to the emulator. */
  release(): void;
  /** Paths of the requests that passed through without being held. */
  readonly passed: string[];
}

async function startHoldingUpstream(emulator: Emulator, slow: { answerHeld: boolean }): Promise<HoldingUpstream> {
  let held = 0;
  let maxHeld = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const passed: string[] = [];
  const upstream = await startTestUpstream(async (req) => {
    if (req.method === 'GET' && req.url === '/v1/profiles/support') {
      held++;
      maxHeld = Math.max(maxHeld, held);
      for (const w of waiters.filter((w) => held >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      await released;
      held--;
      if (slow.answerHeld) return { status: 200, body: HELD_ANSWER };
    } else passed.push(req.url);
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept', 'ms-requestid', 'ms-correlationid', 'client-request-id']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(`${emulator.url}${req.url}`, { method: req.method, headers, body: req.body || undefined });
    const answerHeaders: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
    for (const name of ['ms-requestid', 'request-id']) {
      const value = answer.headers.get(name);
      if (value) answerHeaders[name] = value;
    }
    return { status: answer.status, headers: answerHeaders, body: await answer.text() };
  });
  return {
    upstream,
    held: () => held,
    maxHeld: () => maxHeld,
    whenHeld: (n) => (held >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    release,
    passed,
  };
}

/** The pool gauges of `GET /metrics`, per service. */
async function pools(stack: Stack): Promise<Record<string, { active: number; idle: number; queued: number }>> {
  const text = await (await fetch(stack.metricsUrl!)).text();
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const sockets = families.get('gateway_upstream_sockets');
  const queued = families.get('gateway_upstream_queued_requests');
  if (!sockets || !queued) throw new Error('the pool gauges are missing from GET /metrics');
  const out: Record<string, { active: number; idle: number; queued: number }> = {};
  for (const service of ['partner-center', 'graph']) {
    const value = (family: typeof sockets, labels: Record<string, string>) =>
      Number(family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);
    out[service] = {
      active: value(sockets, { service, state: 'active' }),
      idle: value(sockets, { service, state: 'idle' }),
      queued: value(queued, { service }),
    };
  }
  return out;
}

/** Distinct callers (one token each), as real traffic is: nothing may share their upstream calls. */
async function callers(emulator: Emulator, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => emulator.mintToken({ scp: ALL_GATEWAY_SCOPES, objectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` })),
  );
}

describe('upstream socket pools (UPSTREAM_MAX_SOCKETS)', () => {
  let emulator: Emulator;
  let slow: HoldingUpstream;
  let stack: Stack | undefined;
  const answerHeld = { answerHeld: false };
  beforeEach(async () => {
    emulator = await startEmulator({ testMode: true });
    slow = await startHoldingUpstream(emulator, answerHeld);
  });
  afterEach(async () => {
    answerHeld.answerHeld = false;
    slow.release();
    await stack?.close();
    stack = undefined;
    await slow.upstream.close();
    await emulator.close();
  });

  const start = (env: Record<string, string> = {}) =>
    startStack({
      emulator,
      metrics: true,
      // Long enough that no try times out while the test holds it.
      env: { PARTNER_CENTER_URL: slow.upstream.url, GRAPH_URL: slow.upstream.url, UPSTREAM_TIMEOUT_MS: '60000', UPSTREAM_DEADLINE_MS: '120000', ...env },
    });

  it('keeps far more than 64 calls to a slow upstream in flight at once (default 512 sockets), and shows them as active sockets', async () => {
    const calls = 200;
    // The callers' own tokens go upstream (no exchange per caller: less work on a busy machine); the holding
    // upstream answers them itself.
    answerHeld.answerHeld = true;
    stack = await start({ UPSTREAM_AUTH: 'passthrough' });
    const tokens = await callers(emulator, calls);
    const answers = Promise.all(tokens.map((token) => stack!.graphql(SUPPORT, undefined, { token })));

    await slow.whenHeld(calls);
    expect(slow.held()).toBe(calls);
    const during = await pools(stack);
    expect(during['partner-center']).toEqual({ active: calls, idle: 0, queued: 0 });
    expect(during.graph).toEqual({ active: 0, idle: 0, queued: 0 });

    slow.release();
    for (const answer of await answers) {
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data?.supportProfile).toMatchObject({ email: expect.any(String) });
    }
    expect(slow.maxHeld()).toBe(calls);
    expect(await pools(stack)).toMatchObject({ 'partner-center': { active: 0, queued: 0 } });
  }, 120_000);

  it('queues calls past UPSTREAM_MAX_SOCKETS in the service\'s own pool: Graph on the same host is not held up by a full Partner Center pool', async () => {
    stack = await start({ UPSTREAM_MAX_SOCKETS: '2' });
    const tokens = await callers(emulator, 5);
    const support = tokens.slice(0, 5).map((token) => stack!.graphql(SUPPORT, undefined, { token }));

    await slow.whenHeld(2);
    // The other 3 wait in Partner Center's queue (they reach it as their requests get there).
    let seen = await pools(stack);
    while (seen['partner-center']!.queued < 3) seen = await pools(stack);
    expect(seen['partner-center']).toEqual({ active: 2, idle: 0, queued: 3 });

    // Graph has a pool of its own: its call goes out and is answered while Partner Center's stay held.
    const profile = await stack.graphql(PROFILE, undefined, { token: tokens[0] });
    expect(profile.body.errors).toBeUndefined();
    expect(profile.body.data?.externalUserProfile).toMatchObject({ id: seedData.externalUserProfileIds[0] });
    expect(slow.passed.some((path) => path.startsWith('/beta/'))).toBe(true);
    expect(slow.held()).toBe(2);
    expect((await pools(stack))['partner-center']).toEqual({ active: 2, idle: 0, queued: 3 });

    slow.release();
    for (const answer of await Promise.all(support)) expect(answer.body.errors).toBeUndefined();
    // Never more than the cap at the upstream.
    expect(slow.maxHeld()).toBe(2);
  }, 60_000);
});
