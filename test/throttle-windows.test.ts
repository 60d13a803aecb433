/**
 * Throttle windows (issue 27, item 2) over HTTP, against the emulator's fault injection scoped to one
 * tenant: after a 429 whose Retry-After reaches past the call's deadline, that tenant's further calls are
 * answered RATE_LIMITED without reaching the upstream, while another tenant's calls go on; on one gateway,
 * and on two replicas sharing a real redis-server. When a window ends (on a fake clock) is in
 * upstream-throttle.test.ts.
 */
import { randomUUID } from 'node:crypto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { seedData, startEmulator, type Emulator, type RecordedRequest } from '../src/emulator/index.js';
import { createRedisConnection } from '../src/state/redis-client.js';
import { ALL_DELEGATED, startStack, startStackForFile, type Stack } from './helpers/stack.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';

const PROFILE = 'query($id: ID!) { externalUserProfile(id: $id) { id displayName } }';
const USERS = 'query($c: ID!) { customerUsers(customerId: $c, first: 5) { nodes { id } } }';
const SUPPORT = '{ supportProfile { id email } }';
const TENANT = seedData.partnerTenantId;
const THROTTLED_TENANT = randomUUID();
const profileId = seedData.externalUserProfileIds[0]!;
const profilePath = `/beta/directory/externalUserProfiles/${profileId}`;

/** What reached the emulator for `tenant` (decoded from each request's bearer token). */
function callsOf(emulator: Emulator, tenant: string, service: RecordedRequest['service']): RecordedRequest[] {
  return emulator.requests({ service }).filter((r) => {
    const payload = r.headers.authorization?.split(' ')[1]?.split('.')[1];
    return payload !== undefined && JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).tid === tenant;
  });
}

async function metric(stack: Stack, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(stack.metricsUrl!)).text();
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample === undefined ? undefined : Number(sample.value);
}

describe('throttle windows on one gateway', () => {
  const stack = startStackForFile({ metrics: true, env: { UPSTREAM_DEADLINE_MS: '3000' } });
  beforeEach(() => stack.emulator.reset());

  /** A partner tenant of its own for one test (windows outlive a test), and a token of it. */
  async function newTenant(): Promise<{ tenant: string; token: string }> {
    const tenant = randomUUID();
    return { tenant, token: await stack.mint({ scp: ALL_DELEGATED, tenantId: tenant }) };
  }

  it("answers a Graph-throttled tenant's further calls RATE_LIMITED without calling Graph, while another tenant's go on", async () => {
    const { tenant, token } = await newTenant();
    stack.emulator.injectFault({
      path: profilePath,
      status: 429,
      retryAfter: '600',
      tenantId: tenant,
      times: Infinity,
      headers: { 'x-ms-throttle-limit-percentage': '1.2' },
    });
    const first = await stack.graphql(PROFILE, { id: profileId }, { token });
    expect(first.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 600 });
    expect(callsOf(stack.emulator, tenant, 'graph')).toHaveLength(1);

    for (let i = 0; i < 5; i++) {
      const again = await stack.graphql(PROFILE, { id: seedData.externalUserProfileIds[i + 1] }, { token });
      expect(again.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      const retryAfter = again.body.errors?.[0]?.extensions?.retryAfter as number;
      expect(retryAfter).toBeGreaterThan(590);
      expect(retryAfter).toBeLessThanOrEqual(600);
      expect(again.body.errors?.[0]?.extensions?.upstream).toMatchObject({ service: 'graph', status: 429 });
    }
    // A list page and an aliased batch of the same tenant: still nothing reaches Graph.
    const list = await stack.graphql('{ externalUserProfiles(first: 2) { nodes { id } } }', undefined, { token });
    expect(list.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const [p1, p2] = seedData.externalUserProfileIds.slice(1, 3);
    const batch = await stack.graphql(`{ a: externalUserProfile(id: "${p1}") { id } b: externalUserProfile(id: "${p2}") { id } }`, undefined, { token });
    expect(batch.body.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    expect(callsOf(stack.emulator, tenant, 'graph')).toHaveLength(1);

    // Another tenant reads the very profile; the throttled tenant's Partner Center calls go on too.
    const theirs = await stack.graphql(PROFILE, { id: profileId });
    expect(theirs.body.errors).toBeUndefined();
    expect(theirs.body.data?.externalUserProfile.id).toBe(profileId);
    expect((await stack.graphql(SUPPORT, undefined, { token })).body.errors).toBeUndefined();

    // 5 reads, the list page and the one $batch of the two aliases.
    expect(await metric(stack, 'gateway_upstream_throttled_total', { service: 'graph' })).toBe(7);
    expect(await metric(stack, 'gateway_upstream_throttle_limit_ratio', { service: 'graph' })).toBe(1.2);
  });

  it('opens the window from a throttled $batch sub-request too (retried in the Graph client)', async () => {
    const { tenant, token } = await newTenant();
    const throttled = seedData.externalUserProfileIds[3]!;
    stack.emulator.injectFault({ path: `/beta/directory/externalUserProfiles/${throttled}`, status: 429, retryAfter: '900', tenantId: tenant, times: Infinity });
    const ids = seedData.externalUserProfileIds.slice(0, 4);
    const { body } = await stack.graphql(`{ ${ids.map((id, i) => `p${i}: externalUserProfile(id: "${id}") { id }`).join(' ')} }`, undefined, { token });
    expect(body.data?.p0).toEqual({ id: ids[0] });
    expect(body.errors?.map((e) => [e.path?.[0], e.extensions?.code, e.extensions?.retryAfter])).toEqual([['p3', 'RATE_LIMITED', 900]]);
    const before = callsOf(stack.emulator, tenant, 'graph').length;
    const next = await stack.graphql(PROFILE, { id: ids[0] }, { token });
    expect(next.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(callsOf(stack.emulator, tenant, 'graph')).toHaveLength(before);
    expect((await stack.graphql(PROFILE, { id: ids[0] })).body.errors).toBeUndefined();
  });

  it("scopes a Partner Center window to the partner and the customer the route names: the partner's other customers go on", async () => {
    const [x, y] = [seedData.customers[0]!, seedData.customers[1]!];
    stack.emulator.injectFault({ path: `/v1/customers/${x.id}/users`, status: 429, retryAfter: '120', tenantId: TENANT, times: Infinity });
    const first = await stack.graphql(USERS, { c: x.id });
    expect(first.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 120 });
    const again = await stack.graphql(USERS, { c: x.id });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const toX = callsOf(stack.emulator, TENANT, 'partner-center').filter((r) => r.path.startsWith(`/v1/customers/${x.id}/`));
    expect(toX).toHaveLength(1);
    expect((await stack.graphql(USERS, { c: y.id })).body.errors).toBeUndefined();
    expect((await stack.graphql(SUPPORT)).body.errors).toBeUndefined();
  });

  it('opens no window for a Retry-After the deadline can wait for (the call retries and succeeds)', async () => {
    const { tenant, token } = await newTenant();
    stack.emulator.injectFault({ path: profilePath, status: 429, retryAfter: '0.05', tenantId: tenant });
    const { body } = await stack.graphql(PROFILE, { id: profileId }, { token });
    expect(body.errors).toBeUndefined();
    expect((await stack.graphql(PROFILE, { id: profileId }, { token })).body.errors).toBeUndefined();
    expect(callsOf(stack.emulator, tenant, 'graph')).toHaveLength(3);
  });
});

describeWithRedis('throttle windows shared by two replicas on one Redis', () => {
  let redis: RedisServer;
  let emulator: Emulator;
  let a: Stack;
  let b: Stack;
  let throttledToken: string;
  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startEmulator({ testMode: true });
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'bff-throttle-test:', UPSTREAM_DEADLINE_MS: '3000' };
    [a, b] = await Promise.all([startStack({ env, emulator }), startStack({ env, emulator })]);
    throttledToken = await a.mint({ scp: ALL_DELEGATED, tenantId: THROTTLED_TENANT });
  });
  beforeEach(() => emulator.reset());
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await emulator?.close();
    await redis?.close();
  });

  it("holds the tenant's calls on both replicas, in one PX-expiring key, while another tenant's calls go on", async () => {
    emulator.injectFault({ path: profilePath, status: 429, retryAfter: '600', tenantId: THROTTLED_TENANT, times: Infinity });
    const first = await a.graphql(PROFILE, { id: profileId }, { token: throttledToken });
    expect(first.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 600 });
    expect(callsOf(emulator, THROTTLED_TENANT, 'graph')).toHaveLength(1);

    for (const replica of [b, a, b]) {
      const { body } = await replica.graphql(PROFILE, { id: seedData.externalUserProfileIds[1] }, { token: throttledToken });
      expect(body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(590);
    }
    expect(callsOf(emulator, THROTTLED_TENANT, 'graph')).toHaveLength(1);
    // Another tenant (the seed partner) reads the very profile on both.
    for (const replica of [a, b]) expect((await replica.graphql(PROFILE, { id: profileId })).body.errors).toBeUndefined();

    const connection = await createRedisConnection({ url: redis.url, keyPrefix: 'unused:', logger: { info: () => {}, warn: () => {} } });
    try {
      const keys = (await connection.command(['KEYS', '*throttle:*'])) as string[];
      expect(keys).toHaveLength(1);
      expect(keys[0]!.startsWith('bff-throttle-test:throttle:graph:')).toBe(true);
      expect(keys[0]).toContain(THROTTLED_TENANT);
      const ttl = (await connection.command(['PTTL', keys[0]!])) as number;
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    } finally {
      await connection.close();
    }
  });
});
