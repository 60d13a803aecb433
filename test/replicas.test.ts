/**
 * Several replicas (README, Running several replicas; issue 17): two gateways in this process, each with its
 * own Redis connection, sharing one real redis-server and one emulator, spoken to over HTTP.
 */
import { createHash, randomUUID } from 'node:crypto';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { startMain, type MainProcess } from './helpers/main-process.js';
import { ALL_DELEGATED, microsoftEnvFor, startStack, type Stack } from './helpers/stack.js';
import { createRedisConnection } from '../src/state/redis-client.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';
import { startReplicas, stopReplicas } from './helpers/replicas.js';

const PROFILE = 'query { supportProfile { id email telephone website } }';
const UPDATE = `mutation Update($input: UpdateSupportProfileInput!) {
  updateSupportProfile(input: $input) { id email telephone website }
}`;
const APQ_QUERY = 'query ReplicaApq { supportProfile { id website } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const FIELDS = ['email', 'telephone', 'website'] as const;

/** A POST with an arbitrary GraphQL-over-HTTP body. */
async function post(stack: Stack, body: unknown, token = stack.token) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: any }> } };
}
const byHash = (stack: Stack, query: string, token?: string) =>
  post(stack, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, token);
const register = (stack: Stack, query: string, token?: string) =>
  post(stack, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, token);

async function readyz(stack: Stack) {
  const response = await fetch(`${stack.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; redis: Record<string, unknown> } };
}

/** Polls `/readyz` (bounded) until its `redis` entry says `reachable`: the reconnect is the client's own. */
async function untilRedis(stack: Stack, reachable: boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await readyz(stack)).body.redis.reachable === reachable) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis never became ${reachable ? 'reachable' : 'unreachable'} for ${stack.url}`);
}


describeWithRedis('several replicas sharing one Redis', () => {
  let redis: RedisServer;
  let emulator: Emulator;
  let a: Stack;
  let b: Stack;
  beforeAll(async () => {
    // A generous deadline: 50 serialized read-merge-PUTs with upstream latency take a few seconds.
    ({ redis, emulator, a, b } = await startReplicas({ UPSTREAM_DEADLINE_MS: '20000' }));
  });
  beforeEach(() => emulator.reset());
  afterAll(() => stopReplicas({ redis, emulator, a, b }));

  it('loses none of 50 concurrent partial support-profile updates split across both replicas', async () => {
    // Upstream latency makes every read-merge-PUT overlap others (without the lock, fields are lost).
    emulator.setLatency(15);
    // One read per replica first: its on-behalf-of token is then cached, so the burst tests the lock, not
    // 25 concurrent cold token exchanges per replica.
    for (const replica of [a, b]) expect((await replica.graphql(PROFILE)).body.errors).toBeUndefined();
    emulator.clearRequests();
    const valueFor = (i: number) => [`user${i}@contoso.example`, `+1 425 555 ${String(1000 + i)}`, `www.site${i}.example`][i % 3]!;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? b : a).graphql(UPDATE, { input: { [FIELDS[i % 3]!]: valueFor(i) } })),
    );
    expect(results.map((r) => r.body.errors)).toEqual(Array.from({ length: 50 }, () => undefined));

    // Every PUT starts from the state the previous one left: consecutive PUTs differ in at most one field.
    const puts = emulator.requests({ service: 'partner-center', method: 'PUT' }).map((p) => p.body as Record<string, unknown>);
    expect(puts).toHaveLength(50);
    for (let k = 1; k < puts.length; k++) {
      expect(FIELDS.filter((f) => puts[k]![f] !== puts[k - 1]![f]).length).toBeLessThanOrEqual(1);
    }
    for (let i = 0; i < 50; i++) expect(puts.some((p) => p[FIELDS[i % 3]!] === valueFor(i))).toBe(true);
    const last = puts.at(-1)!;
    for (const replica of [a, b]) {
      expect((await replica.graphql(PROFILE)).body.data?.supportProfile).toMatchObject({ email: last.email, telephone: last.telephone, website: last.website });
    }
  });

  it('answers a persisted query registered on one replica from the other', async () => {
    expect((await byHash(b, APQ_QUERY)).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await register(a, APQ_QUERY)).status).toBe(200);
    const hit = await byHash(b, APQ_QUERY);
    expect(hit.body.errors).toBeUndefined();
    expect(hit.body.data?.supportProfile.id).toEqual(expect.any(String));
  });

  it('reports Redis under /readyz', async () => {
    const { status, body } = await readyz(a);
    expect(status).toBe(200);
    expect(body.redis).toMatchObject({ configured: true, reachable: true });
  });
});

describeWithRedis('several replicas sharing one Redis: rate limit, outage and recovery', () => {
  let redis: RedisServer;
  let emulator: Emulator;
  let a: Stack;
  let b: Stack;
  const callers: string[] = [];
  /** A token of a new caller (another user of the same partner tenant): a fresh rate budget. */
  const newCaller = async () => {
    const token = await a.mint({ scp: ALL_DELEGATED, objectId: randomUUID() });
    callers.push(token);
    return token;
  };
  const warnings = (stack: Stack, text: string) => stack.logs.filter((line) => line.includes('"level":40') && line.includes(text));

  beforeAll(async () => {
    ({ redis, emulator, a, b } = await startReplicas({ RATE_LIMIT_PER_MINUTE: '5' }));
  });
  beforeEach(() => emulator.reset());
  afterAll(() => stopReplicas({ redis, emulator, a, b }));

  it("shares a caller's rate budget across replicas", async () => {
    const token = await newCaller();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await (i % 2 ? b : a).graphql('{ viewer { authenticated } }', {}, { token })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    for (const replica of [a, b]) {
      const refused = await replica.graphql('{ viewer { authenticated } }', {}, { token });
      expect(refused.status).toBe(429);
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('with Redis stopped: reads work, writes fail closed, the rate limit and APQ degrade, /readyz stays 200; then it recovers', async () => {
    const registeredToken = await newCaller();
    expect((await register(a, APQ_QUERY, registeredToken)).status).toBe(200);
    const budgetToken = await newCaller();
    for (let i = 0; i < 5; i++) expect((await a.graphql('{ viewer { authenticated } }', {}, { token: budgetToken })).status).toBe(200);
    expect((await a.graphql('{ viewer { authenticated } }', {}, { token: budgetToken })).status).toBe(429);

    await redis.stop();
    await Promise.all([untilRedis(a, false), untilRedis(b, false)]);

    // /readyz reports it and stays 200: the replica still serves reads.
    const ready = await readyz(b);
    expect(ready.status).toBe(200);
    expect(ready.body.redis).toMatchObject({ configured: true, reachable: false, error: expect.any(String) });

    // Reads keep working.
    const read = await b.graphql(PROFILE, {}, { token: await newCaller() });
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data?.supportProfile.id).toEqual(expect.any(String));

    // Writes fail closed: UPSTREAM_UNAVAILABLE naming the lock store, nothing written.
    emulator.clearRequests();
    const write = await a.graphql(UPDATE, { input: { email: 'outage@contoso.example' } }, { token: await newCaller() });
    expect(write.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(write.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
    expect(write.body.errors?.[0]?.message).toMatch(/support-profile lock store \(Redis\)/);
    expect(emulator.requests({ service: 'partner-center', method: 'PUT' })).toHaveLength(0);

    // The rate limit fails open (the caller over its budget is let through), with a warning.
    expect((await a.graphql('{ viewer { authenticated } }', {}, { token: budgetToken })).status).toBe(200);
    expect(warnings(a, 'rate limit: Redis unreachable')).not.toHaveLength(0);

    // APQ: the registered hash is unknown now, so the client resends the document, which runs.
    expect((await byHash(b, APQ_QUERY, registeredToken)).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const resent = await register(b, APQ_QUERY, registeredToken);
    expect(resent.status).toBe(200);
    expect(resent.body.data?.supportProfile.id).toEqual(expect.any(String));
    expect(warnings(b, 'persisted queries: Redis unreachable')).not.toHaveLength(0);

    // Redis back (empty: persistence is off): both replicas reconnect by themselves.
    await redis.start();
    await Promise.all([untilRedis(a, true), untilRedis(b, true)]);
    expect(a.logs.some((line) => line.includes('Redis reconnected'))).toBe(true);

    const written = await b.graphql(UPDATE, { input: { email: 'recovered@contoso.example' } }, { token: await newCaller() });
    expect(written.body.errors).toBeUndefined();
    expect(written.body.data?.updateSupportProfile.email).toBe('recovered@contoso.example');
    const limited = await newCaller();
    for (let i = 0; i < 5; i++) expect((await (i % 2 ? a : b).graphql('{ viewer { authenticated } }', {}, { token: limited })).status).toBe(200);
    expect((await a.graphql('{ viewer { authenticated } }', {}, { token: limited })).status).toBe(429);
    expect((await register(a, APQ_QUERY, limited)).status).toBe(429); // still limited: the budget is shared again
    const fresh = await newCaller();
    expect((await register(a, APQ_QUERY, fresh)).status).toBe(200);
    expect((await byHash(b, APQ_QUERY, fresh)).body.data?.supportProfile.id).toEqual(expect.any(String));
  });

  it('with Redis not answering (paused): writes fail closed within the command timeout, reads are served', async () => {
    redis.pause();
    try {
      emulator.clearRequests();
      const [write, read] = await Promise.all([
        a.graphql(UPDATE, { input: { telephone: '+1 425 555 0199' } }, { token: await newCaller() }),
        b.graphql(PROFILE, {}, { token: await newCaller() }),
      ]);
      expect(write.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(emulator.requests({ service: 'partner-center', method: 'PUT' })).toHaveLength(0);
      expect(read.body.errors).toBeUndefined();
    } finally {
      redis.resume();
    }
    // The SET that timed out reaches Redis late, and the release sent after it deletes it: no orphan lock.
    const after = await b.graphql(UPDATE, { input: { telephone: '+1 425 555 0198' } }, { token: await newCaller() });
    expect(after.body.errors).toBeUndefined();
  });
});

describeWithRedis('two deployments on one Redis database, each with its own REDIS_KEY_PREFIX', () => {
  let redis: RedisServer;
  let emulator: Emulator;
  let staging: Stack;
  let production: Stack;
  /** A token of a new caller of the one partner tenant both deployments serve (one emulator behind both). */
  const newCaller = () => staging.mint({ scp: ALL_DELEGATED, objectId: randomUUID() });

  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startEmulator({ testMode: true });
    const shared = { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '10' };
    [staging, production] = await Promise.all([
      // Staging's write may be held at the upstream for seconds: one try may take that long.
      startStack({ env: { ...shared, REDIS_KEY_PREFIX: 'staging:', UPSTREAM_TIMEOUT_MS: '8000', UPSTREAM_DEADLINE_MS: '9000' }, emulator }),
      // Production waits for a busy lock at most 2 s (UPSTREAM_DEADLINE_MS), then gives up.
      startStack({ env: { ...shared, REDIS_KEY_PREFIX: 'production:', UPSTREAM_DEADLINE_MS: '2000' }, emulator }),
    ]);
  });
  beforeEach(() => emulator.reset());
  afterAll(async () => {
    await Promise.all([staging?.close(), production?.close()]);
    await emulator?.close();
    await redis?.close();
  });

  it("do not share rate-limit buckets: 10 requests to one leave the other's budget whole", async () => {
    const token = await newCaller();
    for (let i = 0; i < 10; i++) expect((await staging.graphql('{ viewer { authenticated } }', {}, { token })).status).toBe(200);
    expect((await staging.graphql('{ viewer { authenticated } }', {}, { token })).body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const other = await production.graphql('{ viewer { authenticated } }', {}, { token });
    expect(other.status).toBe(200);
    expect(other.body.errors).toBeUndefined();
  });

  it("do not share the support-profile lock: a write held at the upstream in one does not hold up the other's", async () => {
    emulator.injectFault({ method: 'PUT', path: '/v1/profiles/supportprofile', delayMs: 4000 });
    const arrival = emulator.nextRequest({ method: 'PUT', path: '/v1/profiles/supportprofile' });
    const held = staging.graphql(UPDATE, { input: { email: 'staging@contoso.example' } }, { token: await newCaller() });
    await arrival; // staging holds its lock of this partner while its PUT is held
    // With one lock key for both, production would wait for staging's lock and give up after 2 s.
    const write = await production.graphql(UPDATE, { input: { telephone: '+1 425 555 0142' } }, { token: await newCaller() });
    expect(write.body.errors).toBeUndefined();
    expect(write.body.data?.updateSupportProfile.telephone).toBe('+1 425 555 0142');
    expect((await held).body.errors).toBeUndefined();
  });

  it('keep every key they write under their own prefix (locks, write tries, buckets, APQ)', async () => {
    const token = await newCaller();
    for (const deployment of [staging, production]) {
      expect((await register(deployment, APQ_QUERY, token)).status).toBe(200);
      expect((await deployment.graphql(UPDATE, { input: { website: 'www.prefix.example' } }, { token })).body.errors).toBeUndefined();
    }
    const inspector = await createRedisConnection({ url: redis.url, keyPrefix: '', logger: { info() {}, warn() {} } });
    try {
      const keys = (await inspector.command(['KEYS', '*'])) as string[];
      expect(keys.some((key) => key.startsWith('staging:apq:'))).toBe(true);
      expect(keys.some((key) => key.startsWith('production:ratelimit:'))).toBe(true);
      expect(keys.filter((key) => !key.startsWith('staging:') && !key.startsWith('production:'))).toEqual([]);
    } finally {
      await inspector.close();
    }
  });
});

describeWithRedis('a replica killed while the upstream holds its support-profile PUT', () => {
  let redis: RedisServer;
  let emulator: Emulator;
  /** Replica A: the built gateway in a process of its own, so that it can be killed outright. */
  let a: MainProcess | undefined;
  let aUrl: string;
  let b: Stack;
  // The lock's ttl is a third of the deadline: 4 s. One try may take 7 s (UPSTREAM_TIMEOUT_MS); the upstream
  // holds the first PUT 5.5 s and then applies it: longer than the lock outlives its dead owner, within the try's timeout.
  const env = { UPSTREAM_TIMEOUT_MS: '7000', UPSTREAM_DEADLINE_MS: '12000', RATE_LIMIT_PER_MINUTE: '0' };

  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startEmulator({ testMode: true });
    a = startMain({ ...env, ...microsoftEnvFor(emulator), REDIS_URL: redis.url });
    [aUrl, b] = await Promise.all([a.listening(), startStack({ env: { ...env, REDIS_URL: redis.url, UPSTREAM: 'microsoft' }, emulator })]);
  }, 60_000);
  afterAll(async () => {
    a?.child.kill('SIGKILL');
    await a?.exited;
    await b?.close();
    await emulator?.close();
    await redis?.close();
  });

  it("keeps the other replica's acknowledged write: the dead replica's PUT, applied late, is read and merged, never written over it", async () => {
    emulator.injectFault({ method: 'PUT', path: '/v1/profiles/supportprofile', delayMs: 5500 });
    const held = emulator.nextRequest({ method: 'PUT', path: '/v1/profiles/supportprofile' });
    const aWrite = fetch(`${aUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${b.token}` },
      body: JSON.stringify({ query: UPDATE, variables: { input: { email: 'dead-replica@contoso.example' } } }),
    }).then(
      () => 'answered',
      () => 'no answer',
    );
    const aPut = await held; // A holds the partner's lock, and its PUT has reached the upstream
    a!.child.kill('SIGKILL');
    await a!.exited;
    expect(await aWrite).toBe('no answer');

    // B takes the lock once it expires, and must not read before A's PUT can no longer be applied.
    const write = await b.graphql(UPDATE, { input: { telephone: '+1 425 555 0177' } });
    expect(write.body.errors).toBeUndefined();
    expect(write.body.data?.updateSupportProfile.telephone).toBe('+1 425 555 0177');
    expect(b.logs.some((line) => line.includes('taken over from an owner that did not release it'))).toBe(true);

    // Everything settled: A's PUT was applied by the upstream (after its client died)...
    expect((await aPut.answered).status).toBe(200);
    // ...and the stored profile still holds B's acknowledged change, over A's.
    const stored = (await b.graphql(PROFILE)).body.data?.supportProfile;
    expect(stored).toMatchObject({ telephone: '+1 425 555 0177', email: 'dead-replica@contoso.example' });
    expect(emulator.requests({ method: 'PUT', path: '/v1/profiles/supportprofile' })).toHaveLength(2);
  }, 60_000);
});
