/**
 * src/state/throttle-windows.ts: the in-process store on a fake clock, and the Redis store on a real
 * redis-server (two stores on two connections playing two replicas). How the transport uses them is in
 * upstream-throttle.test.ts and throttle-windows.test.ts.
 */
import { InProcessThrottleWindows, RedisThrottleWindows } from '../src/state/throttle-windows.js';
import { createRedisConnection, type RedisConnection } from '../src/state/redis-client.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';

const lines: string[] = [];
const logger = {
  info: (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg })),
  warn: (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg, level: 'warn' })),
};

describe('InProcessThrottleWindows', () => {
  it('answers the time left until the window ends, then 0 on time', () => {
    let now = 1_000_000;
    const windows = new InProcessThrottleWindows({ now: () => now });
    expect(windows.remainingMs('graph:t1')).toBe(0);
    windows.open('graph:t1', 60_000);
    expect(windows.remainingMs('graph:t1')).toBe(60_000);
    expect(windows.remainingMs('graph:t2')).toBe(0);
    now += 59_999;
    expect(windows.remainingMs('graph:t1')).toBe(1);
    now += 1;
    expect(windows.remainingMs('graph:t1')).toBe(0);
    expect(windows.size).toBe(0);
  });

  it('keeps a longer window open when a shorter one is opened, and extends a shorter one', () => {
    let now = 0;
    const windows = new InProcessThrottleWindows({ now: () => now });
    windows.open('k', 10_000);
    windows.open('k', 2_000);
    expect(windows.remainingMs('k')).toBe(10_000);
    now = 5_000;
    windows.open('k', 20_000);
    expect(windows.remainingMs('k')).toBe(20_000);
    windows.open('k', 0);
    windows.open('k', -5);
    expect(windows.remainingMs('k')).toBe(20_000);
  });

  it('holds at most maxKeys windows: ended ones go first, then the one ending soonest', () => {
    let now = 0;
    const windows = new InProcessThrottleWindows({ now: () => now, maxKeys: 2 });
    windows.open('a', 100);
    windows.open('b', 10_000);
    now = 200; // a has ended
    windows.open('c', 5_000);
    expect(windows.size).toBe(2);
    expect([windows.remainingMs('b'), windows.remainingMs('c')]).toEqual([9_800, 5_000]);
    windows.open('d', 50_000);
    expect(windows.size).toBe(2);
    expect(windows.remainingMs('c')).toBe(0); // ended soonest of the open ones
    expect(windows.remainingMs('b')).toBe(9_800);
    expect(windows.remainingMs('d')).toBe(50_000);
  });
});

describeWithRedis('RedisThrottleWindows on a real Redis', () => {
  let redis: RedisServer;
  let a: RedisConnection;
  let b: RedisConnection;
  beforeAll(async () => {
    redis = await startRedis();
    const keyPrefix = 'test-prefix:';
    [a, b] = await Promise.all([createRedisConnection({ url: redis.url, keyPrefix, logger }), createRedisConnection({ url: redis.url, keyPrefix, logger })]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  it('shares a window between replicas in one key per window, PX-expiring with it, under REDIS_KEY_PREFIX', async () => {
    const replicaA = new RedisThrottleWindows({ connection: a });
    const replicaB = new RedisThrottleWindows({ connection: b });
    expect(await replicaB.remainingMs('graph:t1')).toBe(0);
    await replicaA.open('graph:t1', 120_000);
    const seenByB = await replicaB.remainingMs('graph:t1');
    expect(seenByB).toBeGreaterThan(110_000);
    expect(seenByB).toBeLessThanOrEqual(120_000);
    expect(await replicaB.remainingMs('graph:t2')).toBe(0);
    expect(await b.command(['KEYS', '*'])).toEqual(['test-prefix:throttle:graph:t1']);
    const ttl = (await b.command(['PTTL', 'test-prefix:throttle:graph:t1'])) as number;
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it("never shortens another replica's longer window", async () => {
    const replicaA = new RedisThrottleWindows({ connection: a });
    let now = 0;
    const local = new InProcessThrottleWindows({ now: () => now });
    const replicaB = new RedisThrottleWindows({ connection: b, local });
    await replicaA.open('partner-center:t9', 300_000);
    await replicaB.open('partner-center:t9', 1_000);
    const ttl = (await a.command(['PTTL', 'test-prefix:throttle:partner-center:t9'])) as number;
    expect(ttl).toBeGreaterThan(290_000);
    // B learnt the longer window: past its own second it still holds it, without Redis telling it again.
    now = 2_000;
    expect(local.remainingMs('partner-center:t9')).toBeGreaterThan(280_000);
  });

  it('answers a window it knows of from its copy in process, without asking Redis again', async () => {
    let now = 0;
    const local = new InProcessThrottleWindows({ now: () => now });
    const replica = new RedisThrottleWindows({ connection: a, local });
    await replica.open('graph:t3', 60_000);
    await a.command(['DEL', 'test-prefix:throttle:graph:t3']);
    expect(await replica.remainingMs('graph:t3')).toBe(60_000);
    now = 60_000;
    expect(await replica.remainingMs('graph:t3')).toBe(0);
  });

  it('keeps windows per replica while Redis is unreachable, and says so in the log', async () => {
    const down = await createRedisConnection({ url: 'redis://127.0.0.1:1', keyPrefix: 'test-prefix:', logger, connectTimeoutMs: 200 });
    try {
      lines.length = 0;
      let now = 0;
      const replica = new RedisThrottleWindows({ connection: down, local: new InProcessThrottleWindows({ now: () => now }) });
      expect(await replica.remainingMs('graph:t4')).toBe(0);
      await replica.open('graph:t4', 30_000);
      expect(await replica.remainingMs('graph:t4')).toBe(30_000);
      now = 30_000;
      expect(await replica.remainingMs('graph:t4')).toBe(0);
      expect(lines.some((l) => l.includes('throttle windows: Redis unreachable'))).toBe(true);
    } finally {
      await down.close();
    }
  });
});
