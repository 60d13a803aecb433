/**
 * Where the per-caller rate-limit buckets live (src/plugins/rate-limit.ts applies them): a token bucket
 * per key that holds at most `burst` tokens, refills at `perMinute / 60` a second, and gives one token
 * per request. `InMemoryRateLimitStore` counts per process.
 */

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
