/**
 * The response cache's generations: in process, and on a real Redis shared by two connections (two
 * replicas), including a Redis that restarts empty and one that is down.
 */
import { InProcessCacheGenerations, RedisCacheGenerations } from '../src/state/cache-generations.js';
import { createRedisConnection, type RedisConnection } from '../src/state/redis-client.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';

const lines: string[] = [];
const logger = {
  info: (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg })),
  warn: (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg, level: 'warn' })),
};

const PROFILE = 'tenant-a|partner-center/support-profile';
const USERS = 'tenant-a|partner-center/customer-users/c1';

describe('InProcessCacheGenerations', () => {
  it('changes the version of the scopes bumped, and only theirs', async () => {
    const generations = new InProcessCacheGenerations({ retainMs: 60_000 });
    const profile = await generations.version([PROFILE]);
    const users = await generations.version([USERS]);
    await generations.bump([PROFILE]);
    expect(await generations.version([PROFILE])).not.toBe(profile);
    expect(await generations.version([USERS])).toBe(users);
    const bumped = await generations.version([PROFILE]);
    await generations.bump([PROFILE]);
    expect(await generations.version([PROFILE])).not.toBe(bumped);
  });

  it('forgets generations retainMs after their last bump (injected clock), and never reuses a version', async () => {
    let now = 1_000;
    const generations = new InProcessCacheGenerations({ retainMs: 10_000, now: () => now });
    const seen = new Set([await generations.version([PROFILE])]);
    for (let i = 0; i < 5; i++) {
      await generations.bump([PROFILE, `tenant-a|other-${i}`]);
      const version = await generations.version([PROFILE]);
      expect(seen.has(version)).toBe(false);
      seen.add(version);
    }
    expect(generations.size).toBe(6);
    now += 10_001;
    await generations.bump([USERS]);
    expect(generations.size).toBe(1);
  });
});

describeWithRedis('RedisCacheGenerations on a real Redis', () => {
  let redis: RedisServer;
  let a: RedisConnection;
  let b: RedisConnection;
  let onA: RedisCacheGenerations;
  let onB: RedisCacheGenerations;
  beforeAll(async () => {
    redis = await startRedis();
    const keyPrefix = 'test-prefix:';
    [a, b] = await Promise.all([createRedisConnection({ url: redis.url, keyPrefix, logger }), createRedisConnection({ url: redis.url, keyPrefix, logger })]);
    onA = new RedisCacheGenerations({ connection: a, retainMs: 60_000 });
    onB = new RedisCacheGenerations({ connection: b, retainMs: 60_000 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  it("sees one replica's bump from the other, and keeps no id in its keys, each with an expiry", async () => {
    const before = await onA.version([PROFILE, USERS]);
    expect(await onB.version([PROFILE, USERS])).toBe(before);
    await onB.bump([USERS]);
    const after = await onA.version([PROFILE, USERS]);
    expect(after).not.toBe(before);
    expect(await onA.version([PROFILE])).toBe(before.split(';').slice(0, 2).join(';'));
    const keys = (await a.command(['KEYS', '*'])) as string[];
    expect(keys.every((k) => k.startsWith('test-prefix:cache:'))).toBe(true);
    expect(keys.some((k) => k.includes('tenant-a') || k.includes('customer-users'))).toBe(false);
    for (const key of keys.filter((k) => k.includes(':gen:'))) {
      const ttl = (await a.command(['PTTL', key])) as number;
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('outdates every version when Redis comes back empty, even of scopes never bumped', async () => {
    const never = 'tenant-b|graph/external-user-profiles';
    const before = await onA.version([never]);
    expect(await onA.version([never])).toBe(before);
    await redis.stop();
    await expect(onA.version([never])).rejects.toThrow();
    await expect(onA.bump([never])).rejects.toThrow();
    expect(lines.some((l) => l.includes('response cache: Redis unreachable, the cache is bypassed'))).toBe(true);
    await redis.start();
    for (let i = 0; i < 200 && !a.ready; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await onA.version([never])).not.toBe(before);
  });
});
