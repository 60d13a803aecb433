/**
 * The response cache and coalescing on real parts (README, Response cache and coalescing): two
 * gateways sharing one real redis-server and one emulator, spoken to over HTTP. What reached the
 * upstream is read from the emulator's request log; what the gateways did, from their metrics and
 * request log lines.
 */
import { randomUUID } from 'node:crypto';
import { seedData, startEmulator, type Emulator } from '../src/emulator/index.js';
import { ALL_DELEGATED, startStack, type Stack } from './helpers/stack.js';
import { describeWithRedis, type RedisServer } from './helpers/redis.js';
import { startReplicas, stopReplicas } from './helpers/replicas.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';

const PROFILE = 'query Profile { supportProfile { id email website } }';
const UPDATE_PROFILE = 'mutation UpdateProfile($input: UpdateSupportProfileInput!) { updateSupportProfile(input: $input) { id email website } }';
const USER = 'query User($c: ID!, $u: ID!) { customerUser(customerId: $c, userId: $u) { id displayName } }';
const USERS = 'query Users($c: ID!, $first: Int) { customerUsers(customerId: $c, first: $first) { nodes { id displayName } } }';
const UPDATE_USER = 'mutation UpdateUser($c: ID!, $u: ID!, $input: UpdateCustomerUserInput!) { updateCustomerUser(customerId: $c, userId: $u, input: $input) { id displayName } }';
const EXTERNAL = 'query External($id: ID!) { externalUserProfile(id: $id) { id jobTitle } }';
const EXTERNALS = 'query Externals($first: Int) { externalUserProfiles(first: $first) { nodes { id jobTitle } } }';
const UPDATE_EXTERNAL = 'mutation UpdateExternal($id: ID!, $input: UpdateExternalUserProfileInput!) { updateExternalUserProfile(id: $id, input: $input) { id jobTitle } }';

const customer = seedData.customers[0]!;
const userId = customer.userIds[0]!;
const profileId = seedData.externalUserProfileIds[0]!;

/** The value of one series in a Prometheus text exposition (0 when absent). */
async function metric(stack: Stack, series: string): Promise<number> {
  const text = await (await fetch(stack.metricsUrl!)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A delegated token of a new user of the partner tenant. */
const newUser = (stack: Stack) => stack.mint({ scp: ALL_DELEGATED, objectId: randomUUID() });

/** Runs a query and expects no errors. */
async function ok(stack: Stack, query: string, variables: Record<string, unknown>, token: string): Promise<Record<string, any>> {
  const { body } = await stack.graphql(query, variables, { token });
  expect(body.errors).toBeUndefined();
  return body.data!;
}


describeWithRedis('response cache on two replicas sharing one Redis', () => {
  let redis: RedisServer;
  let emulator: Emulator;
  let a: Stack;
  let b: Stack;
  beforeAll(async () => {
    ({ redis, emulator, a, b } = await startReplicas({ RESPONSE_CACHE_TTL_MS: '600000' }, { metrics: true }));
  });
  beforeEach(() => emulator.reset());
  afterAll(() => stopReplicas({ redis, emulator, a, b }));

  const profileGets = () => emulator.requests({ service: 'partner-center', method: 'GET', path: '/v1/profiles/support' }).length;

  it("answers a caller's repeat read from the cache (no upstream call, `cache: hit` logged) and another caller's from the upstream", async () => {
    const [alice, bob] = await Promise.all([newUser(a), newUser(a)]);
    const hitsBefore = await metric(a, 'gateway_response_cache_requests_total{service="partner-center",result="hit"}');
    await ok(a, PROFILE, {}, alice);
    expect(profileGets()).toBe(1);
    const logsBefore = a.logs.length;
    const again = await ok(a, PROFILE, {}, alice);
    expect(profileGets()).toBe(1);
    expect(again.supportProfile.email).toBe(seedData.supportProfile.email);
    const line = a.logs.slice(logsBefore).map((l) => JSON.parse(l)).find((l) => l.msg === 'request completed' && l.operationName === 'Profile');
    expect(line).toMatchObject({ cache: 'hit' });
    await ok(a, PROFILE, {}, bob);
    expect(profileGets()).toBe(2);
    expect(await metric(a, 'gateway_response_cache_requests_total{service="partner-center",result="hit"}')).toBe(hitsBefore + 1);
    expect(await metric(a, 'gateway_response_cache_bytes')).toBeGreaterThan(0);
    // The cache is per replica: the same caller's first read on B goes upstream.
    await ok(b, PROFILE, {}, alice);
    expect(profileGets()).toBe(3);
  });

  it('shows a support-profile write on replica B at once to the writer and to another caller of the tenant on replica A', async () => {
    const [writer, other] = await Promise.all([newUser(a), newUser(a)]);
    for (const token of [writer, other]) await ok(a, PROFILE, {}, token);
    const email = `changed-${Date.now()}@contoso.example`;
    const written = await ok(b, UPDATE_PROFILE, { input: { email } }, writer);
    expect(written.updateSupportProfile.email).toBe(email);
    for (const token of [writer, other]) expect((await ok(a, PROFILE, {}, token)).supportProfile.email).toBe(email);
  });

  it("shows a customer-user write on replica B at once on replica A, in that user's reads and the customer's pages", async () => {
    const [writer, other] = await Promise.all([newUser(a), newUser(a)]);
    for (const token of [writer, other]) {
      await ok(a, USER, { c: customer.id, u: userId }, token);
      await ok(a, USERS, { c: customer.id, first: 5 }, token);
    }
    const gets = emulator.requests({ service: 'partner-center', method: 'GET' }).length;
    // Cached: the same reads again make no upstream call.
    await ok(a, USER, { c: customer.id, u: userId }, other);
    await ok(a, USERS, { c: customer.id, first: 5 }, other);
    expect(emulator.requests({ service: 'partner-center', method: 'GET' }).length).toBe(gets);

    const displayName = `Renamed ${Date.now()}`;
    expect((await ok(b, UPDATE_USER, { c: customer.id, u: userId, input: { displayName } }, writer)).updateCustomerUser.displayName).toBe(displayName);
    for (const token of [writer, other]) {
      expect((await ok(a, USER, { c: customer.id, u: userId }, token)).customerUser.displayName).toBe(displayName);
      const page = (await ok(a, USERS, { c: customer.id, first: 5 }, token)).customerUsers.nodes as Array<{ id: string; displayName: string }>;
      expect(page.find((u) => u.id === userId)?.displayName).toBe(displayName);
    }
  });

  it('shows an external-user-profile write on replica B at once on replica A, in that profile and the profile pages', async () => {
    const [writer, other] = await Promise.all([newUser(a), newUser(a)]);
    for (const token of [writer, other]) {
      await ok(a, EXTERNAL, { id: profileId }, token);
      await ok(a, EXTERNALS, { first: 5 }, token);
    }
    // The writer's own cached read on B must not be what the mutation returns.
    await ok(b, EXTERNAL, { id: profileId }, writer);
    const jobTitle = `Title ${Date.now()}`;
    expect((await ok(b, UPDATE_EXTERNAL, { id: profileId, input: { jobTitle } }, writer)).updateExternalUserProfile.jobTitle).toBe(jobTitle);
    for (const token of [writer, other]) {
      expect((await ok(a, EXTERNAL, { id: profileId }, token)).externalUserProfile.jobTitle).toBe(jobTitle);
      const page = (await ok(a, EXTERNALS, { first: 5 }, token)).externalUserProfiles.nodes as Array<{ id: string; jobTitle: string }>;
      expect(page.find((p) => p.id === profileId)?.jobTitle).toBe(jobTitle);
    }
  });

  it("never serves a caller's cached answer to a caller of another tenant", async () => {
    const alice = await newUser(a);
    const stranger = await a.mint({ scp: ALL_DELEGATED, tenantId: randomUUID(), objectId: randomUUID() });
    await ok(a, EXTERNAL, { id: profileId }, alice);
    const before = emulator.requests({ service: 'graph' }).length;
    await a.graphql(EXTERNAL, { id: profileId }, { token: stranger });
    expect(emulator.requests({ service: 'graph' }).length).toBe(before + 1);
  });

  it('bypasses the cache while Redis is stopped, and reads stay correct', async () => {
    const alice = await newUser(a);
    await ok(a, PROFILE, {}, alice);
    expect(profileGets()).toBe(1);
    await redis.stop();
    try {
      const bypassBefore = await metric(a, 'gateway_response_cache_requests_total{service="partner-center",result="bypass"}');
      for (let i = 2; i <= 3; i++) {
        expect((await ok(a, PROFILE, {}, alice)).supportProfile.email).toBe(seedData.supportProfile.email);
        expect(profileGets()).toBe(i);
      }
      expect(await metric(a, 'gateway_response_cache_requests_total{service="partner-center",result="bypass"}')).toBe(bypassBefore + 2);
    } finally {
      await redis.start();
    }
  });
});

describe('response cache on one replica: TTL and memory bound', () => {
  let emulator: Emulator;
  let short: Stack;
  let small: Stack;
  beforeAll(async () => {
    emulator = await startEmulator({ testMode: true });
    [short, small] = await Promise.all([
      startStack({ emulator, env: { RESPONSE_CACHE_TTL_MS: '300' } }),
      // The smallest bound allowed.
      startStack({ emulator, env: { RESPONSE_CACHE_TTL_MS: '600000', RESPONSE_CACHE_MAX_BYTES: '65536' }, metrics: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([short?.close(), small?.close()]);
    await emulator?.close();
  });
  beforeEach(() => emulator.reset());

  it('reads from the upstream again once the TTL has passed (polling the emulator log, no fixed sleep)', async () => {
    const alice = await newUser(short);
    const gets = () => emulator.requests({ service: 'partner-center', method: 'GET', path: '/v1/profiles/support' }).length;
    await ok(short, PROFILE, {}, alice);
    expect(gets()).toBe(1);
    for (let i = 0; i < 400 && gets() === 1; i++) {
      await ok(short, PROFILE, {}, alice);
      if (gets() === 1) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(gets()).toBe(2);
  });

  it('keeps the bytes held under RESPONSE_CACHE_MAX_BYTES under a flood of distinct reads, evicting the oldest', async () => {
    const alice = await newUser(small);
    const graphGets = () => emulator.requests({ service: 'graph', method: 'GET' }).length;
    // 100 distinct answers for this caller: every profile, then pages of 1 to 50.
    for (const id of seedData.externalUserProfileIds.slice(0, 50)) await ok(small, EXTERNAL, { id }, alice);
    for (let first = 1; first <= 50; first++) await ok(small, EXTERNALS, { first }, alice);
    const bytes = await metric(small, 'gateway_response_cache_bytes');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(65536);
    // The first answer was evicted: reading it again goes upstream.
    const before = graphGets();
    await ok(small, EXTERNAL, { id: seedData.externalUserProfileIds[0] }, alice);
    expect(graphGets()).toBe(before + 1);
  });
});

describe('coalescing (on by default, cache off)', () => {
  let emulator: Emulator;
  let stack: Stack;
  beforeAll(async () => {
    emulator = await startEmulator({ testMode: true });
    stack = await startStack({ emulator, metrics: true });
  });
  afterAll(async () => {
    await stack?.close();
    await emulator?.close();
  });
  beforeEach(() => emulator.reset());

  const profileGets = () => emulator.requests({ service: 'partner-center', method: 'GET', path: '/v1/profiles/support' });

  it('sends 20 identical concurrent reads of one caller upstream once, with the first request\'s correlation id', async () => {
    const alice = await newUser(stack);
    // Warm the caller's upstream token (a call's key includes it), then hold the next read upstream.
    await ok(stack, PROFILE, {}, alice);
    emulator.clearRequests();
    emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', delayMs: 1000 });
    const coalescedBefore = await metric(stack, 'gateway_upstream_coalesced_total{service="partner-center"}');
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const answers = await Promise.all(ids.map((id) => stack.graphql(PROFILE, {}, { token: alice, headers: { 'x-correlation-id': id } })));
    expect(answers.map((r) => r.body.errors)).toEqual(Array(20).fill(undefined));
    expect(answers.map((r) => r.headers.get('x-correlation-id'))).toEqual(ids);
    expect(answers.every((r) => r.body.data?.supportProfile.email === seedData.supportProfile.email)).toBe(true);
    const gets = profileGets();
    expect(gets).toHaveLength(1);
    expect(ids).toContain(gets[0]!.headers['ms-correlationid']);
    expect(await metric(stack, 'gateway_upstream_coalesced_total{service="partner-center"}')).toBe(coalescedBefore + 19);
  });

  it('sends concurrent reads of two callers upstream twice', async () => {
    const [alice, bob] = await Promise.all([newUser(stack), newUser(stack)]);
    for (const token of [alice, bob]) await ok(stack, PROFILE, {}, token);
    emulator.clearRequests();
    emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', delayMs: 500, times: 2 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => ok(stack, PROFILE, {}, i % 2 ? bob : alice)));
    expect(profileGets()).toHaveLength(2);
  });

  it('gives every waiter the shared error, each with its own correlation id', async () => {
    const alice = await newUser(stack);
    await ok(stack, PROFILE, {}, alice);
    // Every try of the shared call fails (retries included).
    emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 404, delayMs: 500 });
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const answers = await Promise.all(ids.map((id) => stack.graphql(PROFILE, {}, { token: alice, headers: { 'x-correlation-id': id } })));
    expect(answers.map((r) => r.body.errors?.[0]?.extensions?.code)).toEqual(Array(5).fill('NOT_FOUND'));
    expect(answers.map((r) => r.body.errors?.[0]?.extensions?.upstream?.correlationId)).toEqual(ids);
  });
});

describe('response cache: traces', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      env: { RESPONSE_CACHE_TTL_MS: '600000', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '20' },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it("marks the root field's span of a read served from the cache, and only that one", async () => {
    const alice = await newUser(stack);
    const traceIds = [randomUUID(), randomUUID()].map((id) => id.replace(/-/g, ''));
    for (const traceId of traceIds) {
      await stack.graphql(PROFILE, {}, { token: alice, headers: { traceparent: `00-${traceId}-${'1'.repeat(16)}-01` } });
    }
    const spans = await receiver.waitFor((all) => traceIds.every((t) => all.some((s) => s.traceId === t && s.name === 'Query.supportProfile')));
    const field = (traceId: string) => spans.find((s) => s.traceId === traceId && s.name === 'Query.supportProfile')!;
    expect(field(traceIds[0]!).attributes['gateway.response_cache.hit']).toBeUndefined();
    expect(field(traceIds[1]!).attributes).toMatchObject({ 'gateway.response_cache.hit': true, 'gateway.response_cache.service': 'partner-center' });
    // No upstream try under the hit.
    expect(spans.filter((s) => s.traceId === traceIds[1] && s.kind === 3 && s.attributes['http.request.method'] === 'GET')).toEqual([]);
  });
});
