/**
 * Per-caller rate limiting (DESIGN.md, Limits: `RATE_LIMIT_PER_MINUTE`, 600 a minute by default).
 *
 * A token bucket per caller: it holds at most `burst` tokens (= the per-minute rate), refills at
 * `perMinute / 60` tokens a second, and every GraphQL request takes one. A caller whose bucket is empty
 * is answered HTTP 429 with `Retry-After` and a `RATE_LIMITED` error carrying `extensions.retryAfter`,
 * before its document is parsed and with no upstream call.
 *
 * The caller is the verified principal (tenant + object id) when the request carries a valid token,
 * else the client address (Fastify's `request.ip`: behind a reverse proxy, that is the proxy unless
 * Fastify's `trustProxy` is set). Requests refused for a bad token still take from their address's
 * bucket, so a stream of invalid tokens is limited too.
 *
 * The buckets live behind `RateLimitStore`, whose one method is `take(key, now)`: the in-memory store
 * below counts per process; with several replicas, a shared store (e.g. Redis running the same
 * arithmetic in a Lua script, keyed by the same keys) can replace it without touching the rest.
 */
import type { GraphQLError } from 'graphql';
import { RateLimitedError } from '../errors.js';
import { requestLevelError } from './format-error.js';
import type { Principal } from '../auth/principal.js';

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

/** The bucket key of a caller: its tenant and object id when verified, else its address. */
export function rateLimitKey(principal: Pick<Principal, 'tenantId' | 'objectId'> | null, ip: string): string {
  return principal ? `principal:${principal.tenantId}:${principal.objectId}` : `ip:${ip}`;
}

/** The request-level error of a caller over its rate: HTTP 429, `Retry-After`, `RATE_LIMITED`. */
export function rateLimitedError(retryAfterMs: number): GraphQLError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const error = new RateLimitedError(`Too many requests: retry after ${retryAfter} s`, retryAfter);
  return requestLevelError(error, 429, { 'retry-after': String(retryAfter) });
}

export interface RateLimiterOptions {
  /** Where the buckets live. */
  readonly store: RateLimitStore;
  /** The clock (epoch ms). @default Date.now */
  readonly now?: () => number;
}

export interface RateLimiter {
  /** Takes one request from `key`'s allowance; throws the 429 `rateLimitedError` when there is none. */
  check(key: string): Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { store, now = Date.now } = options;
  return {
    async check(key) {
      const decision = await store.take(key, now());
      if (!decision.allowed) throw rateLimitedError(decision.retryAfterMs);
    },
  };
}
