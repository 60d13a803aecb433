/**
 * src/state/ on a real Redis: the lock (ownership, renewal, lease, waiting), the rate-limit script, the
 * APQ adapter, and the connection's failure policy. The multi-replica behaviour is in replicas.test.ts.
 */
import { ConfigError, loadConfig } from '../src/config.js';
import { SharedStateUnavailableError } from '../src/errors.js';
import { RedisKeyValueCache } from '../src/state/apq-cache.js';
import { RedisLock } from '../src/state/lock.js';
import { InMemoryRateLimitStore, RedisRateLimitStore } from '../src/state/rate-limit.js';
import { createRedisConnection, redactRedisUrl, type RedisConnection } from '../src/state/redis-client.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';
import { startStack } from './helpers/stack.js';

const lines: string[] = [];
const logger = {
  info: (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg })),
  warn: (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg, level: 'warn' })),
};

describe('REDIS_URL', () => {
  it('accepts redis:// and rediss:// URLs', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrl).toBe('redis://127.0.0.1:6379');
    expect(loadConfig({ REDIS_URL: 'rediss://user:pw@cache.example:6380/2' }).redisUrl).toBe('rediss://user:pw@cache.example:6380/2');
    expect(loadConfig({}).redisUrl).toBeUndefined();
  });

  it('refuses anything else with one line that does not repeat the value (it may hold a password)', () => {
    for (const url of ['http://user:hunter2@cache.example', 'hunter2', 'redis://']) {
      let message = '';
      try {
        loadConfig({ REDIS_URL: url });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toBe('REDIS_URL must be a redis:// or rediss:// URL');
    }
  });

  it('is logged without its credentials', () => {
    expect(redactRedisUrl('redis://user:hunter2@cache.example:6380/2')).toBe('redis://***@cache.example:6380/2');
    expect(redactRedisUrl('rediss://:hunter2@cache.example')).toBe('rediss://***@cache.example');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('REDIS_KEY_PREFIX', () => {
  it('defaults to partner-bff: and takes printable characters without spaces', () => {
    expect(loadConfig({}).redisKeyPrefix).toBe('partner-bff:');
    expect(loadConfig({ REDIS_KEY_PREFIX: 'partner-bff-staging:' }).redisKeyPrefix).toBe('partner-bff-staging:');
  });

  it('refuses a prefix with spaces or control characters, or over 64 characters', () => {
    for (const prefix of ['two words:', 'crlf\r\n:', 'x'.repeat(65)]) {
      expect(() => loadConfig({ REDIS_KEY_PREFIX: prefix })).toThrow(/^REDIS_KEY_PREFIX must be 1 to 64 printable ASCII characters without spaces/);
    }
  });
});

describeWithRedis('state on a real Redis', () => {
  let redis: RedisServer;
  let connection: RedisConnection;
  /** A second connection, playing another replica or an operator. */
  let other: RedisConnection;
  beforeAll(async () => {
    redis = await startRedis();
    // Keys of this file start with `test:` (REDIS_KEY_PREFIX), so the bare names below are what Redis holds.
    [connection, other] = await Promise.all([createRedisConnection({ url: redis.url, keyPrefix: 'test:', logger }), createRedisConnection({ url: redis.url, keyPrefix: 'test:', logger })]);
  });
  afterAll(async () => {
    await connection?.close();
    await other?.close();
    await redis?.close();
  });

  describe('RedisLock', () => {
    const lock = (options: Partial<ConstructorParameters<typeof RedisLock>[0]> = {}) =>
      new RedisLock({ connection, name: 'the test lock', waitMs: 2000, ...options });

    it('holds the key with a token while the task runs and deletes it after', async () => {
      const seen = await lock().withLock('a', async () => other.command(['GET', 'test:lock:a']));
      expect(seen).toMatch(/^[0-9a-f]{32}$/);
      expect(await other.command(['EXISTS', 'test:lock:a'])).toBe(0);
    });

    it("never deletes another owner's lock when its own has expired", async () => {
      await lock().withLock('b', async () => {
        await other.command(['SET', 'test:lock:b', 'someone-else', 'PX', '60000']);
      });
      expect(await other.command(['GET', 'test:lock:b'])).toBe('someone-else');
      await other.command(['DEL', 'test:lock:b']);
    });

    it('renews the lock while the task outlasts its ttl; a waiter meanwhile gives up with retryAfter, its task not run', async () => {
      const short = lock({ ttlMs: 300, renewEveryMs: 50 });
      let waiterRan = false;
      let waiterError: unknown;
      await short.withLock('c', async (lease) => {
        // Three ttls of wall time: without renewal the key would be gone.
        await lock({ waitMs: 900 })
          .withLock('c', async () => {
            waiterRan = true;
          })
          .catch((error: unknown) => (waiterError = error));
        expect(await other.command(['PTTL', 'test:lock:c'])).toBeGreaterThan(0);
        expect(() => lease.assertHeld()).not.toThrow();
      });
      expect(waiterRan).toBe(false);
      expect(waiterError).toBeInstanceOf(SharedStateUnavailableError);
      expect((waiterError as SharedStateUnavailableError).code).toBe('UPSTREAM_UNAVAILABLE');
      expect((waiterError as SharedStateUnavailableError).retryAfter).toBeGreaterThanOrEqual(1);
      expect((waiterError as Error).message).toBe('The test lock stayed busy: nothing was written');
    });

    it('lets the lease fail once a renewal finds another owner (the write is then abandoned)', async () => {
      const short = lock({ ttlMs: 5000, renewEveryMs: 20 });
      const error = await short.withLock('d', async (lease) => {
        await other.command(['SET', 'test:lock:d', 'taken-over', 'PX', '60000']);
        for (let i = 0; i < 200; i++) {
          try {
            lease.assertHeld();
          } catch (lost) {
            return lost;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return undefined;
      });
      expect(error).toBeInstanceOf(SharedStateUnavailableError);
      expect((error as Error).message).toBe('Lost the test lock (it expired or was taken over): the write was abandoned');
      expect(await other.command(['GET', 'test:lock:d'])).toBe('taken-over');
      await other.command(['DEL', 'test:lock:d']);
    });

    it('records each write try before it is sent, in a key of its own that expires with the try (plus the margin); a task that ends well deletes its records', async () => {
      const records = await lock({ recordMarginMs: 1000 }).withLock('f', async (lease) => {
        const token = (await other.command(['GET', 'test:lock:f'])) as string;
        await lease.beforeWrite(5000);
        await lease.beforeWrite(3000);
        const first = `test:lock-try:f:${token}:1`;
        const second = `test:lock-try:f:${token}:2`;
        expect(((await other.command(['SMEMBERS', 'test:lock-tries:f'])) as string[]).sort()).toEqual([first, second]);
        const [ttl1, ttl2] = (await Promise.all([other.command(['PTTL', first]), other.command(['PTTL', second])])) as number[];
        expect(ttl1).toBeGreaterThan(5000);
        expect(ttl1).toBeLessThanOrEqual(6000);
        expect(ttl2).toBeGreaterThan(3000);
        expect(ttl2).toBeLessThanOrEqual(4000);
        return [first, second];
      });
      expect(await other.command(['EXISTS', ...records, 'test:lock-tries:f', 'test:lock:f'])).toBe(0);
    });

    it("keeps a failed task's records until they expire (a try that got no answer may still be applied), and the next owner waits for them", async () => {
      const failed = await lock({ recordMarginMs: 0 })
        .withLock('g', async (lease) => {
          await lease.beforeWrite(400);
          throw new Error('the PUT got no answer');
        })
        .catch((error: unknown) => error);
      expect((failed as Error).message).toBe('the PUT got no answer');
      const [record] = (await other.command(['SMEMBERS', 'test:lock-tries:g'])) as string[];
      expect(record).toMatch(/^test:lock-try:g:[0-9a-f]{32}:1$/);
      expect(await other.command(['EXISTS', 'test:lock:g'])).toBe(0); // released all the same
      const seen = await lock().withLock('g', async () => other.command(['EXISTS', record!]));
      expect(seen).toBe(0); // the next task ran only once the record had expired
    });

    it('deletes, after a failed task, the records of tries answered with a success or a refusal (4xx but 408), and only those', async () => {
      const ended = [200, 404, 429, 0, 408, 503];
      await lock()
        .withLock('k', async (lease) => {
          for (const status of ended) ((await lease.beforeWrite(60_000)) as (status: number) => void)(status);
          throw new Error('failed');
        })
        .catch(() => undefined);
      const left = ((await other.command(['SMEMBERS', 'test:lock-tries:k'])) as string[]).map((key) => ended[Number(key.split(':').at(-1)) - 1]);
      expect(left.sort()).toEqual([0, 408, 503]);
      await other.command(['DEL', 'test:lock-tries:k', ...((await other.command(['KEYS', 'test:lock-try:k:*'])) as string[])]);
    });

    it('makes a taker wait until every try record of an owner that did not release the lock has expired, then run', async () => {
      // A dead owner: its lock has expired, its try records have not yet.
      await other.command(['SET', 'test:lock-try:h:dead:1', 'dead', 'PX', '300']);
      await other.command(['SET', 'test:lock-try:h:dead:2', 'dead', 'PX', '500']);
      await other.command(['SADD', 'test:lock-tries:h', 'test:lock-try:h:dead:1', 'test:lock-try:h:dead:2']);
      const seen = await lock().withLock('h', async () => other.command(['EXISTS', 'test:lock-try:h:dead:1', 'test:lock-try:h:dead:2']));
      expect(seen).toBe(0);
    });

    it('gives up, its task not run and the lock let go, when those tries outlast its own wait: UPSTREAM_UNAVAILABLE with retryAfter', async () => {
      await other.command(['SET', 'test:lock-try:i:dead:1', 'dead', 'PX', '5000']);
      await other.command(['SADD', 'test:lock-tries:i', 'test:lock-try:i:dead:1']);
      let ran = false;
      const error = await lock({ waitMs: 1000 })
        .withLock('i', async () => {
          ran = true;
        })
        .catch((e: unknown) => e);
      expect(ran).toBe(false);
      expect(error).toBeInstanceOf(SharedStateUnavailableError);
      expect((error as SharedStateUnavailableError).retryAfter).toBe(5);
      expect((error as Error).message).toBe('The test lock was left by an owner whose write may still be applied: nothing was written');
      expect(await other.command(['EXISTS', 'test:lock:i'])).toBe(0);
      await other.command(['DEL', 'test:lock-try:i:dead:1', 'test:lock-tries:i']);
    });

    it('records no try, and refuses to send it, once the lock has another owner', async () => {
      const error = await lock().withLock('j', async (lease) => {
        await other.command(['SET', 'test:lock:j', 'taken-over', 'PX', '60000']);
        return Promise.resolve(lease.beforeWrite(1000)).catch((e: unknown) => e);
      });
      expect(error).toBeInstanceOf(SharedStateUnavailableError);
      expect((error as Error).message).toBe('Lost the test lock (it expired or was taken over): the write was abandoned');
      expect(await other.command(['EXISTS', 'test:lock-tries:j'])).toBe(0);
      await other.command(['DEL', 'test:lock:j']);
    });

    it('hands the lock from one task to the next without losing one', async () => {
      const shared = lock();
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? lock() : shared).withLock('e', async () => {
            most = Math.max(most, ++inside);
            await other.command(['PING']);
            inside--;
          }),
        ),
      );
      expect(most).toBe(1);
    });
  });

  describe('RedisRateLimitStore', () => {
    it('gives a burst of perMinute, then refuses with the wait for one token, as the in-memory store does', async () => {
      const store = new RedisRateLimitStore({ connection, perMinute: 60 });
      const memory = new InMemoryRateLimitStore({ perMinute: 60 });
      const now = Date.now();
      for (let i = 0; i < 60; i++) {
        expect(await store.take('caller')).toEqual({ allowed: true });
        expect(memory.take('caller', now)).toEqual({ allowed: true });
      }
      const refused = await store.take('caller');
      expect(memory.take('caller', now)).toEqual({ allowed: false, retryAfterMs: 1000 });
      expect(refused.allowed).toBe(false);
      if (refused.allowed) return;
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      // The bucket key expires once it would be full again (a missing bucket is a full one).
      const ttl = (await other.command(['PTTL', 'test:ratelimit:caller'])) as number;
      expect(ttl).toBeGreaterThan(1000);
      expect(ttl).toBeLessThanOrEqual(62_000);
      expect(await store.take('another caller')).toEqual({ allowed: true });
    });
  });

  describe('RedisKeyValueCache (APQ)', () => {
    it('stores under its namespace, always with a TTL', async () => {
      const cache = new RedisKeyValueCache({ connection, defaultTtlSeconds: 120 });
      await cache.set('apq:abc', 'query { a }');
      await cache.set('apq:def', 'query { b }', { ttl: 30 });
      await cache.set('apq:ghi', 'query { c }', { ttl: null });
      expect(await cache.get('apq:abc')).toBe('query { a }');
      expect(await other.command(['TTL', 'test:apq:abc'])).toBe(120);
      expect(await other.command(['TTL', 'test:apq:def'])).toBe(30);
      expect(await other.command(['TTL', 'test:apq:ghi'])).toBe(120);
      expect(await cache.delete('apq:abc')).toBe(true);
      expect(await cache.get('apq:abc')).toBeUndefined();
    });
  });

  describe('a gateway with a password in REDIS_URL', () => {
    it('connects and never logs the password', async () => {
      const secured = await startRedis({ password: 'hunter2-secret' });
      const url = `redis://:hunter2-secret@127.0.0.1:${secured.port}`;
      const stack = await startStack({ env: { REDIS_URL: url } });
      try {
        // Start-up waits for the first connection only briefly: poll /readyz (bounded) until it is up.
        let ready: { redis: { reachable?: boolean } } = { redis: {} };
        for (let i = 0; i < 200 && !ready.redis.reachable; i++) {
          if (i) await new Promise((resolve) => setTimeout(resolve, 25));
          ready = (await (await fetch(`${stack.url}/readyz`)).json()) as typeof ready;
        }
        expect(ready.redis).toMatchObject({ configured: true, reachable: true });
        expect(stack.logs.some((line) => line.includes(`redis://***@127.0.0.1:${secured.port}`))).toBe(true);
        expect(stack.logs.join('\n')).not.toContain('hunter2-secret');
      } finally {
        await stack.close();
        await secured.close();
      }
    });
  });
});

describeWithRedis('state with Redis down from the start', () => {
  let redis: RedisServer;
  let connection: RedisConnection;
  beforeAll(async () => {
    redis = await startRedis();
    await redis.stop(); // a port where no one answers
    connection = await createRedisConnection({ url: redis.url, keyPrefix: 'partner-bff:', logger, connectTimeoutMs: 200 });
  });
  afterAll(async () => {
    await connection?.close();
    await redis?.close();
  });

  it('starts anyway, and fails each command at once instead of queueing it for after a reconnect', async () => {
    expect(connection.ready).toBe(false);
    await expect(connection.command(['SET', 'late', 'x', 'NX'])).rejects.toThrow();
    expect(await connection.health()).toEqual({ reachable: false, error: expect.any(String) });
  });

  it('refuses lock holders (UPSTREAM_UNAVAILABLE naming the store), lets rate-limited requests through, forgets APQ', async () => {
    const lock = new RedisLock({ connection, name: 'the support-profile lock', waitMs: 1000 });
    let ran = false;
    const error = await lock
      .withLock('x', async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(SharedStateUnavailableError);
    expect((error as Error).message).toBe('The support-profile lock store (Redis) is unreachable: nothing was written');
    expect(await new RedisRateLimitStore({ connection, perMinute: 1 }).take('k')).toEqual({ allowed: true });
    const cache = new RedisKeyValueCache({ connection });
    expect(await cache.get('apq:x')).toBeUndefined();
    await expect(cache.set('apq:x', 'query { a }')).resolves.toBeUndefined();
    expect(lines.some((line) => line.includes('"level":"warn"') && line.includes('rate limit: Redis unreachable'))).toBe(true);
  });
});
