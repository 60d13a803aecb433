/**
 * The read-through layer (coalescing, response cache, invalidation) over a fake transport whose calls
 * the test answers by hand: what is sent, how often, and with which correlation id.
 */
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { UpstreamError } from '../src/errors.js';
import { createUpstreamReads, type ReadThroughObserver, type UpstreamReads, type UpstreamReadsOptions } from '../src/upstream/read-through.js';
import { InProcessCacheGenerations, type CacheGenerations } from '../src/state/cache-generations.js';
import { PARTNER_CENTER } from '../src/upstream/partner-center.js';
import type { UpstreamCaller, UpstreamRequest, UpstreamResponse, UpstreamTransport } from '../src/upstream/transport.js';

const TENANT = '11111111-1111-1111-1111-111111111111';
const URL_PROFILE = 'https://pc.example/v1/profiles/support';
const SCOPES = ['partner-center/support-profile'];

interface Sent {
  readonly req: UpstreamRequest;
  resolve(body: unknown): void;
  reject(error: unknown): void;
}

function fakeTransport(deadlineMs = 5000, timeoutMs = 1000) {
  const sent: Sent[] = [];
  const transport = {
    policy: { maxRetries: 0, timeoutMs, deadlineMs, now: () => Date.now(), sleep: async () => {}, decide: () => ({ retry: false }), retried: () => {} },
    request: (req: UpstreamRequest) =>
      new Promise<UpstreamResponse<unknown>>((resolve, reject) => {
        sent.push({ req, resolve: (body) => resolve({ status: 200, headers: {}, body, requestId: 'up-1', tries: 1 }), reject });
      }),
  } as unknown as UpstreamTransport;
  return { transport, sent };
}

function callerOf(objectId: string, token = `token-of-${objectId}`, tenantId = TENANT): UpstreamCaller & { hits: number } {
  const caller = {
    correlationId: randomUUID(),
    getToken: async () => token,
    tenantId,
    principalKey: `${tenantId}/${objectId}`,
    hits: 0,
    onCacheHit: () => void caller.hits++,
  };
  return caller;
}
/** Another request of the same caller: same identity and token, its own correlation id. */
const again = (caller: UpstreamCaller & { hits: number }) => {
  const next = { ...caller, correlationId: randomUUID(), hits: 0, onCacheHit: () => void next.hits++ };
  return next;
};

const get = (caller: UpstreamCaller, extra: Partial<UpstreamRequest> = {}): UpstreamRequest => ({ upstream: PARTNER_CENTER, caller, method: 'GET', url: URL_PROFILE, ...extra });
const put = (caller: UpstreamCaller): UpstreamRequest => ({ upstream: PARTNER_CENTER, caller, method: 'PUT', url: URL_PROFILE, json: {} });

/** Lets pending promise callbacks (token, version reads) run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function counting(): ReadThroughObserver & { coalesced: number; lookups: string[] } {
  const o = { coalesced: 0, lookups: [] as string[], onCoalesced: () => void o.coalesced++, onCacheLookup: (_s: string, r: string) => void o.lookups.push(r) };
  return o;
}

let reads: UpstreamReads | undefined;
const make = (options: UpstreamReadsOptions): UpstreamReads => (reads = createUpstreamReads(options));
afterEach(() => {
  reads?.close();
  reads = undefined;
  jest.useRealTimers();
});

describe('coalescing', () => {
  it('sends 20 identical concurrent reads of one caller once, and every one gets the answer', async () => {
    const { transport, sent } = fakeTransport();
    const observer = counting();
    const r = make({ transport, observer });
    const alice = callerOf('alice');
    const pending = Array.from({ length: 20 }, () => r.read(get(again(alice)), { scopes: SCOPES }));
    await settle();
    expect(sent).toHaveLength(1);
    sent[0]!.resolve({ email: 'a@contoso.example' });
    const answers = await Promise.all(pending);
    expect(answers.map((a) => (a.body as { email: string }).email)).toEqual(Array(20).fill('a@contoso.example'));
    expect(observer.coalesced).toBe(19);
    // Settled calls are forgotten: the next read is sent again.
    const next = r.read(get(again(alice)), { scopes: SCOPES });
    await settle();
    expect(sent).toHaveLength(2);
    sent[1]!.resolve({});
    await next;
  });

  it('never shares a call between callers, tokens, URLs or paging headers', async () => {
    const { transport, sent } = fakeTransport();
    const r = make({ transport });
    const alice = callerOf('alice');
    const pending = [
      r.read(get(alice), { scopes: SCOPES }),
      r.read(get(callerOf('bob')), { scopes: SCOPES }),
      r.read(get(callerOf('alice', 'another-token')), { scopes: SCOPES }),
      r.read(get(again(alice), { url: `${URL_PROFILE}?x=1` }), { scopes: SCOPES }),
      r.read(get(again(alice), { headers: { 'MS-ContinuationToken': 'page-2' } }), { scopes: SCOPES }),
      r.read(get(again(alice), { headers: { 'MS-ContinuationToken': 'page-3' } }), { scopes: SCOPES }),
      r.read(get(again(alice), { headers: { 'ms-continuationtoken': 'page-3' } }), { scopes: SCOPES }),
    ];
    await settle();
    expect(sent).toHaveLength(6);
    for (const s of sent) s.resolve({});
    await Promise.all(pending);
  });

  it('sends the shared call with the first request\'s correlation id, and gives each waiter the error with its own', async () => {
    const { transport, sent } = fakeTransport();
    const r = make({ transport });
    const alice = callerOf('alice');
    const callers = Array.from({ length: 3 }, () => again(alice));
    const pending = callers.map((c) => r.read(get(c), { scopes: SCOPES }).catch((e: unknown) => e));
    await settle();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.req.caller.correlationId).toBe(callers[0]!.correlationId);
    sent[0]!.reject(new UpstreamError({ service: 'partner-center', serviceName: 'Partner Center', status: 503, message: '', correlationId: callers[0]!.correlationId, requestId: 'up-9' }));
    const errors = (await Promise.all(pending)) as UpstreamError[];
    expect(errors.map((e) => e.code)).toEqual(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE']);
    expect(errors.map((e) => e.correlationId)).toEqual(callers.map((c) => c.correlationId));
    expect(errors.map((e) => e.extensions().upstream)).toEqual(
      callers.map((c) => ({ service: 'partner-center', status: 503, code: undefined, requestId: 'up-9', correlationId: c.correlationId })),
    );
  });

  it('lets a waiter give up at its own deadline without ending the shared call for the others', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { transport, sent } = fakeTransport(5000);
    const r = make({ transport });
    const alice = callerOf('alice');
    const patient = r.read(get(alice), { scopes: SCOPES });
    const hurried = again(alice);
    const impatient = r.read(get(hurried, { deadlineAt: Date.now() + 100 }), { scopes: SCOPES }).catch((e: unknown) => e);
    await settle();
    expect(sent).toHaveLength(1);
    // The shared call carries no request's own earlier deadline.
    expect(sent[0]!.req.deadlineAt).toBeUndefined();
    await jest.advanceTimersByTimeAsync(100);
    const error = (await impatient) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.correlationId).toBe(hurried.correlationId);
    sent[0]!.resolve({ email: 'late@contoso.example' });
    await expect(patient).resolves.toMatchObject({ body: { email: 'late@contoso.example' } });
  });

  it('never coalesces writes, nor fresh reads', async () => {
    const { transport, sent } = fakeTransport();
    const r = make({ transport });
    const alice = callerOf('alice');
    const first = r.read(get(alice), { scopes: SCOPES });
    const fresh = r.read(get(again(alice)), { scopes: SCOPES, fresh: true });
    const writes = [r.write(put(again(alice)), SCOPES), r.write(put(again(alice)), SCOPES)];
    await settle();
    expect(sent.map((s) => s.req.method).sort()).toEqual(['GET', 'GET', 'PUT', 'PUT']);
    for (const s of sent) s.resolve({});
    await Promise.all([first, fresh, ...writes]);
  });

  it("does not let a read that starts after a write of its tenant join a call sent before it", async () => {
    const { transport, sent } = fakeTransport();
    const r = make({ transport });
    const alice = callerOf('alice');
    const before = r.read(get(alice), { scopes: SCOPES });
    await settle();
    const write = r.write(put(callerOf('bob')), SCOPES);
    await settle();
    sent[1]!.resolve({});
    await write;
    const after = r.read(get(again(alice)), { scopes: SCOPES });
    const other = r.read(get(again(alice)), { scopes: SCOPES });
    await settle();
    // One more call for both later reads: they share theirs, not the one sent before the write.
    expect(sent.map((s) => s.req.method)).toEqual(['GET', 'PUT', 'GET']);
    sent[0]!.resolve({ email: 'old' });
    sent[2]!.resolve({ email: 'new' });
    await expect(before).resolves.toMatchObject({ body: { email: 'old' } });
    await expect(after).resolves.toMatchObject({ body: { email: 'new' } });
    await expect(other).resolves.toMatchObject({ body: { email: 'new' } });
  });

  it('sends every read when coalescing is off', async () => {
    const { transport, sent } = fakeTransport();
    const r = make({ transport, coalesce: false });
    const alice = callerOf('alice');
    const pending = [r.read(get(alice), { scopes: SCOPES }), r.read(get(again(alice)), { scopes: SCOPES })];
    await settle();
    expect(sent).toHaveLength(2);
    for (const s of sent) s.resolve({});
    await Promise.all(pending);
  });
});

describe('response cache', () => {
  const cached = (transport: UpstreamTransport, extra: Partial<UpstreamReadsOptions> = {}, generations: CacheGenerations = new InProcessCacheGenerations({ retainMs: 600_000 })) =>
    make({ transport, cache: { ttlMs: 30_000, generations, ...(extra.cache ?? {}) }, ...extra });

  /** Reads once, answering the call if one is sent; resolves to the body and whether a call was made. */
  async function readOnce(r: UpstreamReads, sent: Sent[], caller: UpstreamCaller, body: unknown = { email: 'x' }, extra: { fresh?: boolean; scopes?: string[] } = {}) {
    const before = sent.length;
    const pending = r.read(get(caller), { scopes: extra.scopes ?? SCOPES, fresh: extra.fresh });
    await settle();
    const called = sent.length > before;
    if (called) sent.at(-1)!.resolve(body);
    return { body: (await pending).body, called };
  }

  it("serves a caller's repeat read from the cache, and not another caller's", async () => {
    const { transport, sent } = fakeTransport();
    const observer = counting();
    const r = cached(transport, { observer });
    const alice = callerOf('alice');
    expect(await readOnce(r, sent, alice, { email: 'a' })).toEqual({ body: { email: 'a' }, called: true });
    const repeat = again(alice);
    expect(await readOnce(r, sent, repeat)).toEqual({ body: { email: 'a' }, called: false });
    expect(repeat.hits).toBe(1);
    expect(await readOnce(r, sent, callerOf('bob'), { email: 'b' })).toEqual({ body: { email: 'b' }, called: true });
    expect(observer.lookups).toEqual(['miss', 'hit', 'miss']);
    expect(r.cacheBytes()).toBeGreaterThan(0);
  });

  it('gives every hit its own copy of the answer', async () => {
    const { transport, sent } = fakeTransport();
    const r = cached(transport);
    const alice = callerOf('alice');
    await readOnce(r, sent, alice, { email: 'a' });
    const first = (await readOnce(r, sent, again(alice))).body as Record<string, unknown>;
    first.email = 'changed by a careless caller';
    expect((await readOnce(r, sent, again(alice))).body).toEqual({ email: 'a' });
  });

  it('reads again once the TTL has passed (injected clock)', async () => {
    let now = 1_000;
    const { transport, sent } = fakeTransport();
    const r = cached(transport, { cache: { ttlMs: 30_000, now: () => now, generations: new InProcessCacheGenerations({ retainMs: 600_000 }) } });
    const alice = callerOf('alice');
    await readOnce(r, sent, alice, { email: 'a' });
    now = 31_000;
    expect((await readOnce(r, sent, again(alice))).called).toBe(false);
    now = 31_001;
    expect(await readOnce(r, sent, again(alice), { email: 'a2' })).toEqual({ body: { email: 'a2' }, called: true });
  });

  it("outdates every caller's entries of the tenant when any caller writes, and no other tenant's", async () => {
    const { transport, sent } = fakeTransport();
    const r = cached(transport);
    const alice = callerOf('alice');
    const bob = callerOf('bob');
    const stranger = callerOf('carol', 'token-c', '22222222-2222-2222-2222-222222222222');
    for (const c of [alice, bob, stranger]) await readOnce(r, sent, c, { email: 'old' });
    const write = r.write(put(again(bob)), SCOPES);
    await settle();
    sent.at(-1)!.resolve({ email: 'new' });
    await write;
    expect(await readOnce(r, sent, again(alice), { email: 'new' })).toEqual({ body: { email: 'new' }, called: true });
    expect(await readOnce(r, sent, again(bob), { email: 'new' })).toEqual({ body: { email: 'new' }, called: true });
    expect(await readOnce(r, sent, again(stranger))).toEqual({ body: { email: 'old' }, called: false });
    // Another scope of the tenant is untouched.
    const other = ['partner-center/customer-users/c1'];
    await readOnce(r, sent, again(alice), { items: [] }, { scopes: other });
    const second = r.write(put(again(bob)), SCOPES);
    await settle();
    sent.at(-1)!.resolve({});
    await second;
    expect((await readOnce(r, sent, again(alice), {}, { scopes: other })).called).toBe(false);
  });

  it('outdates an answer whose call was in flight while a write ran', async () => {
    const { transport, sent } = fakeTransport();
    const r = cached(transport);
    const alice = callerOf('alice');
    const during = r.read(get(alice), { scopes: SCOPES });
    await settle();
    const write = r.write(put(callerOf('bob')), SCOPES);
    await settle();
    sent[1]!.resolve({});
    await write;
    sent[0]!.resolve({ email: 'read before the write landed' });
    await during;
    expect(await readOnce(r, sent, again(alice), { email: 'new' })).toEqual({ body: { email: 'new' }, called: true });
  });

  it('invalidates after a failed write too, and once more a try timeout after a write that got no answer', async () => {
    jest.useFakeTimers({ now: 5_000_000 });
    const { transport, sent } = fakeTransport(5000, 1000);
    const generations = new InProcessCacheGenerations({ retainMs: 600_000 });
    const r = cached(transport, {}, generations);
    const alice = callerOf('alice');
    await readOnce(r, sent, alice, { email: 'old' });
    const write = r.write(put(callerOf('bob')), SCOPES).catch((e: unknown) => e);
    await settle();
    sent.at(-1)!.reject(new UpstreamError({ service: 'partner-center', serviceName: 'Partner Center', status: 0, message: 'timed out', correlationId: 'c' }));
    expect(await write).toBeInstanceOf(UpstreamError);
    // The failed write outdated the entry.
    expect((await readOnce(r, sent, again(alice), { email: 'still old' })).called).toBe(true);
    expect((await readOnce(r, sent, again(alice))).called).toBe(false);
    // The upstream may apply the unanswered try until its timeout: one more invalidation then.
    await jest.advanceTimersByTimeAsync(1000);
    expect(await readOnce(r, sent, again(alice), { email: 'applied late' })).toEqual({ body: { email: 'applied late' }, called: true });
  });

  it('never serves or joins for fresh reads (the read of a read-merge-PUT, a re-read after a write)', async () => {
    const { transport, sent } = fakeTransport();
    const observer = counting();
    const r = cached(transport, { observer });
    const alice = callerOf('alice');
    await readOnce(r, sent, alice, { email: 'a' });
    expect(await readOnce(r, sent, again(alice), { email: 'fresh' }, { fresh: true })).toEqual({ body: { email: 'fresh' }, called: true });
    expect(observer.lookups).toEqual(['miss', 'bypass']);
  });

  it('bypasses the cache while the generations cannot be read, and refuses a write it could not invalidate, unsent', async () => {
    const { transport, sent } = fakeTransport();
    let down = false;
    const inner = new InProcessCacheGenerations({ retainMs: 600_000 });
    const flaky: CacheGenerations = {
      kind: 'redis',
      version: (scopes) => (down ? Promise.reject(new Error('Redis down')) : inner.version(scopes)),
      bump: (scopes) => (down ? Promise.reject(new Error('Redis down')) : inner.bump(scopes)),
    };
    const observer = counting();
    const r = cached(transport, { observer }, flaky);
    const alice = callerOf('alice');
    await readOnce(r, sent, alice, { email: 'a' });
    down = true;
    expect(await readOnce(r, sent, again(alice), { email: 'a, read again' })).toEqual({ body: { email: 'a, read again' }, called: true });
    expect(await readOnce(r, sent, again(alice), { email: 'a, and again' })).toEqual({ body: { email: 'a, and again' }, called: true });
    const before = sent.length;
    const refused = await r.write(put(again(alice)), SCOPES).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(sent.length).toBe(before);
    down = false;
    // Nothing was stored while bypassed: the entry from before is still the one served.
    expect((await readOnce(r, sent, again(alice))).body).toEqual({ email: 'a' });
    expect(observer.lookups).toEqual(['miss', 'bypass', 'bypass', 'hit']);
  });
});
