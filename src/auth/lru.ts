/**
 * A small least-recently-used map with per-entry expiry, for the caches in `src/auth/` (verified tokens,
 * discovered issuers, upstream tokens). Bounded, because every key there is derived from what callers
 * send: an unbounded map would let a stream of distinct tokens grow the process without limit.
 */

/** A bounded map whose entries also expire at a given time. */
export class ExpiringLru<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();

  /**
   * @param maxEntries how many entries to keep; the least recently used goes first. `0` keeps nothing.
   * @param now the clock, in epoch milliseconds.
   */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The live value for `key`, refreshing its recency; expired entries are dropped on the way. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    // Re-insert so Map's insertion order doubles as recency order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (epoch ms), evicting the least recently used entry when full. */
  set(key: K, value: V, expiresAt: number = Number.POSITIVE_INFINITY): void {
    if (this.maxEntries <= 0 || expiresAt <= this.now()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
    }
  }

  /** The live values, least recently used first, without touching their recency. */
  *values(): IterableIterator<V> {
    const at = this.now();
    for (const entry of this.#entries.values()) if (entry.expiresAt > at) yield entry.value;
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
