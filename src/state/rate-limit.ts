/**
 * Where the per-caller rate-limit buckets live (src/plugins/rate-limit.ts applies them): a token bucket
 * per key that holds at most `burst` tokens, refills at `perMinute / 60` a second, and gives one token
 * per request. `InMemoryRateLimitStore` counts per process; `RedisRateLimitStore` runs the same
 * arithmetic in one Lua script per check, so every replica on one Redis shares a caller's budget.
 */
import { luaScript, type RedisConnection } from './redis-client.js';

/** The answer of a store for one request. */
export type RateLimitDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Milliseconds until the bucket holds a whole token again. */
      readonly retryAfterMs: number;
    };

/** Where the buckets live. Implementations must be safe to call concurrently for the same key. */
export interface RateLimitStore {
  /** Takes one token from `key`'s bucket at time `now` (epoch ms), if it holds one. */
  take(key: string, now: number): RateLimitDecision | Promise<RateLimitDecision>;
}

export interface TokenBucketOptions {
  /** Tokens added per minute (`RATE_LIMIT_PER_MINUTE`); must be positive. */
  readonly perMinute: number;
  /** Bucket size: how many requests a rested caller may send at once. @default perMinute */
  readonly burst?: number;
  /**
   * Most buckets kept in memory. Beyond it, buckets that have refilled completely are dropped (they are
   * the same as no bucket); if none has, the least recently used one goes (its caller starts afresh).
   * @default 100000
   */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last computed (epoch ms). */
  at: number;
}

/** Token buckets in this process's memory, with bounded size. */
export class InMemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #burst: number;
  /** Tokens per millisecond. */
  readonly #rate: number;
  readonly #maxKeys: number;
  /** A full sweep costs one pass over the map: at most one a second, LRU eviction in between. */
  #nextSweepAt = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.perMinute > 0)) throw new Error('InMemoryRateLimitStore needs a positive perMinute');
    this.#burst = Math.max(1, options.burst ?? options.perMinute);
    this.#rate = options.perMinute / 60_000;
    this.#maxKeys = Math.max(1, options.maxKeys ?? 100_000);
  }

  take(key: string, now: number): RateLimitDecision {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-inserted below: Map order doubles as recency order
      bucket.tokens = this.#level(bucket, now);
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      bucket = { tokens: this.#burst, at: now };
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.#rate) };
  }

  /** How many buckets are held (tests, metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  /** The bucket's tokens at `now`: refilled since its last use, never above the burst. */
  #level(bucket: Bucket, now: number): number {
    return Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.at) * this.#rate);
  }

  #evict(now: number): void {
    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + 1000;
      for (const [key, bucket] of this.#buckets) {
        if (this.#level(bucket, now) >= this.#burst) this.#buckets.delete(key);
      }
    }
    while (this.#buckets.size >= this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value as string;
      this.#buckets.delete(oldest);
    }
  }
}

/**
 * One check: refill by the time since the last one, take a token if there is a whole one, else say how
 * long until there is. Atomic (a script), on Redis's own clock (`TIME`), so replicas with skewed clocks
 * agree. A missing bucket is a full one: keys expire once they would have refilled completely.
 * ARGV: burst, tokens per ms. Returns { allowed (0/1), ms until a whole token }.
 */
const TAKE = luaScript(`
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
else
  now = at
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil((burst - tokens) / rate) + 1000))
return { allowed, wait }
`);

/** Options of `RedisRateLimitStore`. */
export interface RedisRateLimitStoreOptions extends Omit<TokenBucketOptions, 'maxKeys'> {
  readonly connection: RedisConnection;
}

/**
 * Token buckets in Redis, shared by every replica (keys `<REDIS_KEY_PREFIX>ratelimit:<caller>`). `now` is ignored: the script uses Redis's clock.
 * Redis unreachable or slow: the request is allowed (fail open) and a warning is logged, because
 * refusing every caller while Redis is down would turn a degraded limiter into an outage.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: RedisConnection;
  readonly #args: readonly string[];

  constructor(options: RedisRateLimitStoreOptions) {
    if (!(options.perMinute > 0)) throw new Error('RedisRateLimitStore needs a positive perMinute');
    this.#redis = options.connection;
    this.#args = [String(Math.max(1, options.burst ?? options.perMinute)), String(options.perMinute / 60_000)];
  }

  async take(key: string): Promise<RateLimitDecision> {
    try {
      const reply = await this.#redis.script(TAKE, [this.#redis.key('ratelimit', key)], this.#args);
      const [allowed, wait] = Array.isArray(reply) ? reply : [];
      if (allowed === 0 && typeof wait === 'number') return { allowed: false, retryAfterMs: wait };
      return { allowed: true };
    } catch (error) {
      this.#redis.warn('rate-limit', error, 'rate limit: Redis unreachable, requests are let through unlimited');
      return { allowed: true };
    }
  }
}
