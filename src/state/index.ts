/**
 * The state replicas share (README, Running several replicas), chosen once per process: with `REDIS_URL`, the
 * support-profile lock, the rate-limit buckets, the APQ registry, the upstreams' throttle windows and the
 * response cache's invalidation generations (never its answers) live in Redis, over one connection;
 * without it, in this process (safe for writes on one replica only). Circuit breakers, signing keys and
 * upstream token caches stay per replica whatever this says (README, Running several replicas).
 */
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { RedisKeyValueCache } from './apq-cache.js';
import { InProcessCacheGenerations, RedisCacheGenerations, type CacheGenerations } from './cache-generations.js';
import { InProcessLock, RedisLock, type KeyedLock } from './lock.js';
import { InMemoryRateLimitStore, RedisRateLimitStore, type RateLimitStore } from './rate-limit.js';
import { InProcessThrottleWindows, RedisThrottleWindows, type ThrottleWindowStore } from './throttle-windows.js';
import { createRedisConnection, redactRedisUrl, type RedisCommandObserver, type RedisConnection, type RedisHealth, type StateLogger } from './redis-client.js';

export type { KeyedLock, Lease } from './lock.js';
export type { CacheGenerations } from './cache-generations.js';
export type { RateLimitStore } from './rate-limit.js';
export type { ThrottleWindowStore } from './throttle-windows.js';
export type { RedisCommandInfo, RedisCommandObserver } from './redis-client.js';
export { redisErrorType } from './redis-client.js';

/** `/readyz`'s `redis` entry. */
export type SharedStateHealth = { readonly configured: false } | ({ readonly configured: true } & RedisHealth);

/** The shared state of one process. */
export interface SharedState {
  /** A lock by key: serializes, e.g., the read-merge-PUT of one partner's support profile. */
  readonly keyedLock: KeyedLock;
  /** The rate-limit buckets; undefined when the limit is off. */
  readonly rateLimitStore: RateLimitStore | undefined;
  /** The APQ registry; undefined means Apollo Server's own in-memory cache. */
  readonly apqCache: KeyValueCache<string> | undefined;
  /** The upstreams' throttle windows (the transport's, src/upstream/throttle.ts). */
  readonly throttleWindows: ThrottleWindowStore;
  /** The response cache's invalidation generations; undefined when the cache is off. */
  readonly cacheGenerations: CacheGenerations | undefined;
  health(): Promise<SharedStateHealth>;
  close(): Promise<void>;
}

/** Options of `createSharedState`. */
export interface SharedStateOptions {
  /** `REDIS_URL`; unset: in-process state. */
  readonly redisUrl?: string;
  /** `REDIS_KEY_PREFIX`: the start of every Redis key this process uses. */
  readonly redisKeyPrefix: string;
  /** `UPSTREAM_DEADLINE_MS`: the longest a write waits for the lock. */
  readonly deadlineMs: number;
  /** `RATE_LIMIT_PER_MINUTE`; 0: no limit. */
  readonly rateLimitPerMinute: number;
  readonly logger: StateLogger;
  /** Told of every Redis command (tracing: one span each); unused without `redisUrl`. */
  readonly redisObserver?: RedisCommandObserver;
  /**
   * With the response cache on: how long its generations are remembered after a write (see
   * state/cache-generations.ts). @default undefined: the cache is off, no generations
   */
  readonly cacheGenerationsRetainMs?: number;
  /** Options of the lock (tests). @default derived from `deadlineMs` */
  readonly lock?: { readonly ttlMs?: number; readonly renewEveryMs?: number };
}

/** Builds the process's shared state; with Redis, waits briefly for the first connection (never fails on it). */
export async function createSharedState(options: SharedStateOptions): Promise<SharedState> {
  const { redisUrl, deadlineMs, rateLimitPerMinute, logger, cacheGenerationsRetainMs: retainMs } = options;
  if (!redisUrl) {
    return {
      keyedLock: new InProcessLock(),
      rateLimitStore: rateLimitPerMinute > 0 ? new InMemoryRateLimitStore({ perMinute: rateLimitPerMinute }) : undefined,
      apqCache: undefined,
      throttleWindows: new InProcessThrottleWindows(),
      cacheGenerations: retainMs === undefined ? undefined : new InProcessCacheGenerations({ retainMs }),
      health: async () => ({ configured: false }),
      close: async () => {},
    };
  }
  const connection: RedisConnection = await createRedisConnection({ url: redisUrl, keyPrefix: options.redisKeyPrefix, logger, observer: options.redisObserver });
  const lock = new RedisLock({ connection, name: 'the support-profile lock', waitMs: deadlineMs, logger, ...options.lock });
  logger.info({ redis: redactRedisUrl(redisUrl), keyPrefix: options.redisKeyPrefix, lockTtlMs: lock.ttlMs }, 'shared state in Redis');
  return {
    keyedLock: lock,
    rateLimitStore: rateLimitPerMinute > 0 ? new RedisRateLimitStore({ connection, perMinute: rateLimitPerMinute }) : undefined,
    apqCache: new RedisKeyValueCache({ connection }),
    throttleWindows: new RedisThrottleWindows({ connection }),
    cacheGenerations: retainMs === undefined ? undefined : new RedisCacheGenerations({ connection, retainMs }),
    health: async () => ({ configured: true, ...(await connection.health()) }),
    close: () => connection.close(),
  };
}
