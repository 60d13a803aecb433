import { rateLimitKey } from '../src/plugins/rate-limit.js';
import { InMemoryRateLimitStore, type RateLimitDecision } from '../src/state/rate-limit.js';
import { startStack, startStackForFile } from './helpers/stack.js';

describe('InMemoryRateLimitStore (token bucket)', () => {
  const allowed = (d: RateLimitDecision) => d.allowed;

  it('allows a burst of perMinute requests, then refuses with the wait for one token', () => {
    const store = new InMemoryRateLimitStore({ perMinute: 60 }); // one token a second
    for (let i = 0; i < 60; i++) expect(allowed(store.take('a', 1_000))).toBe(true);
    expect(store.take('a', 1_000)).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(store.take('a', 1_400)).toEqual({ allowed: false, retryAfterMs: 600 });
  });

  it('refills at perMinute / 60 a second, never above the burst', () => {
    const store = new InMemoryRateLimitStore({ perMinute: 60 });
    for (let i = 0; i < 60; i++) store.take('a', 0);
    expect(allowed(store.take('a', 1_000))).toBe(true);
    expect(allowed(store.take('a', 1_000))).toBe(false);
    // An hour later the bucket holds 60 again, not 3600.
    const later = 3_600_000;
    for (let i = 0; i < 60; i++) expect(allowed(store.take('a', later))).toBe(true);
    expect(allowed(store.take('a', later))).toBe(false);
  });

  it('keeps one bucket per key', () => {
    const store = new InMemoryRateLimitStore({ perMinute: 1 });
    expect(allowed(store.take('a', 0))).toBe(true);
    expect(allowed(store.take('a', 0))).toBe(false);
    expect(allowed(store.take('b', 0))).toBe(true);
  });

  it('stays within maxKeys: drops refilled buckets first, then the least recently used', () => {
    const store = new InMemoryRateLimitStore({ perMinute: 60, maxKeys: 3 });
    store.take('a', 0);
    store.take('b', 0);
    store.take('c', 0);
    // At 10 s, a, b and c have refilled (1 token a second): they go, and d takes one slot.
    store.take('d', 10_000);
    expect(store.size).toBe(1);
    store.take('e', 10_000);
    store.take('f', 10_000);
    store.take('e', 10_001); // e is now more recent than f
    store.take('g', 10_002); // none refilled, and a sweep ran less than a second ago: d (oldest) goes
    expect(store.size).toBe(3);
    for (let i = 0; i < 10_000; i++) store.take(`k${i}`, 20_000 + i);
    expect(store.size).toBeLessThanOrEqual(3);
  });

  it('keys a verified caller by tenant and object id, anyone else by address', () => {
    expect(rateLimitKey({ tenantId: 't', objectId: 'o' }, '10.0.0.1')).toBe('principal:t:o');
    expect(rateLimitKey(null, '10.0.0.1')).toBe('ip:10.0.0.1');
  });
});

describe('rate limit over HTTP (RATE_LIMIT_PER_MINUTE=5)', () => {
  const stack = startStackForFile({ env: { RATE_LIMIT_PER_MINUTE: '5' } });

  const upstreamCalls = () => stack.emulator.requests().filter((r) => r.service === 'partner-center' || r.service === 'graph');

  it('answers the 6th request in a burst 429 with Retry-After and RATE_LIMITED, without an upstream call', async () => {
    const token = await stack.mint({ scp: 'SupportProfile.Read', objectId: '11111111-1111-4111-8111-111111111111' });
    for (let i = 0; i < 5; i++) {
      const { status, body } = await stack.graphql('{ supportProfile { id } }', undefined, { token });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
    }
    stack.emulator.clearRequests();
    const { status, headers, body } = await stack.graphql('{ supportProfile { id } }', undefined, { token });
    expect(status).toBe(429);
    const retryAfter = Number(headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12); // one token every 12 s
    expect(body).toEqual({
      errors: [{ message: expect.stringMatching(/too many requests/i), extensions: { code: 'RATE_LIMITED', retryAfter } }],
    });
    expect(upstreamCalls()).toEqual([]);
  });

  it('limits each caller on its own: another user of the same tenant is not affected', async () => {
    const a = await stack.mint({ scp: 'SupportProfile.Read', objectId: '22222222-2222-4222-8222-222222222222' });
    const b = await stack.mint({ scp: 'SupportProfile.Read', objectId: '33333333-3333-4333-8333-333333333333' });
    for (let i = 0; i < 5; i++) await stack.graphql('{ viewer { authenticated } }', undefined, { token: a });
    expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token: a })).status).toBe(429);
    expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token: b })).status).toBe(200);
  });

  it('counts one caller across its tokens (same tenant and object id)', async () => {
    const objectId = '44444444-4444-4444-8444-444444444444';
    for (let i = 0; i < 5; i++) {
      const token = await stack.mint({ scp: 'SupportProfile.Read', objectId, name: `token ${i}` });
      expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token })).status).toBe(200);
    }
    const fresh = await stack.mint({ scp: 'SupportProfile.Read', objectId, name: 'fresh' });
    expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token: fresh })).status).toBe(429);
  });

  it('limits anonymous callers and invalid tokens by address', async () => {
    // The anonymous bucket of 127.0.0.1 is shared by both kinds of request.
    for (let i = 0; i < 3; i++) expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token: null })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token: 'not.a.jwt' })).status).toBe(401);
    const limited = await stack.graphql('{ viewer { authenticated } }', undefined, { token: 'not.a.jwt' });
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await stack.graphql('{ viewer { authenticated } }', undefined, { token: null })).status).toBe(429);
  });

  it('does not limit health checks', async () => {
    for (let i = 0; i < 10; i++) expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  });
});

describe('rate limit off (RATE_LIMIT_PER_MINUTE=0)', () => {
  it('never answers 429', async () => {
    const stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      const statuses = await Promise.all(Array.from({ length: 30 }, () => stack.graphql('{ viewer { authenticated } }').then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await stack.close();
    }
  });
});

describe('rate limit behind a reverse proxy (TRUST_PROXY=1)', () => {
  const stack = startStackForFile({ env: { RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: '1' } });

  it('keys anonymous callers by their forwarded address, not the proxy', async () => {
    const ask = (client: string) => stack.graphql('{ viewer { authenticated } }', undefined, { token: null, headers: { 'x-forwarded-for': client } });
    expect((await ask('203.0.113.1')).status).toBe(200);
    expect((await ask('203.0.113.1')).status).toBe(429);
    expect((await ask('203.0.113.2')).status).toBe(200);
  });
});
