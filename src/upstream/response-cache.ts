/**
 * The per-replica response cache: successful upstream GET answers, each under a key that names its
 * caller (read-through.ts builds the keys), kept for `ttlMs` and bounded by `maxBytes`, least recently
 * used first out (lru-cache). In this process's memory only: no answer ever goes to Redis.
 *
 * An entry holds the answer's JSON text, not the parsed object: its size is then known exactly (what
 * `maxBytes` bounds), and every hit parses a fresh object, so no request can change what another one
 * reads. It also holds the invalidation version its scopes had when the call was sent
 * (state/cache-generations.ts): read-through.ts serves it only while that version is still current.
 */
import { LRUCache } from 'lru-cache';

/** One cached answer. */
export interface CachedAnswer {
  readonly status: number;
  /** The upstream's request id of the answer (quoted by errors about its body). */
  readonly requestId?: string;
  /** The body as JSON text; `''` for an empty body. */
  readonly text: string;
  /** The invalidation version of the answer's scopes, read before the call was sent. */
  readonly version: string;
}

/** Options of `ResponseCache`. */
export interface ResponseCacheOptions {
  /** How long an answer is reused (`RESPONSE_CACHE_TTL_MS`); must be positive. */
  readonly ttlMs: number;
  /** Bound of the entries' size, keys included (`RESPONSE_CACHE_MAX_BYTES`). @default 67108864 */
  readonly maxBytes?: number;
  /** The clock, in milliseconds (never 0: lru-cache takes a start at 0 for "no start"). @default performance.now */
  readonly now?: () => number;
}

/** Fixed cost counted per entry besides its strings (the entry object, the LRU's slots). */
const ENTRY_OVERHEAD_BYTES = 96;

/**
 * The bytes an entry is counted for: its strings at two bytes a character (what V8 needs for a
 * string that is not pure Latin-1; an upper bound otherwise) plus a fixed overhead.
 */
export function entryBytes(key: string, answer: CachedAnswer): number {
  return 2 * (key.length + answer.text.length + answer.version.length + (answer.requestId?.length ?? 0)) + ENTRY_OVERHEAD_BYTES;
}

/** A byte-bounded LRU of upstream answers with a fixed time to live. */
export class ResponseCache {
  readonly #entries: LRUCache<string, CachedAnswer>;

  constructor(options: ResponseCacheOptions) {
    if (!(options.ttlMs > 0)) throw new Error('ResponseCache needs a positive ttlMs');
    const maxBytes = Math.max(1, Math.floor(options.maxBytes ?? 64 * 1024 * 1024));
    this.#entries = new LRUCache<string, CachedAnswer>({
      maxSize: maxBytes,
      // An answer bigger than the whole cache is not kept (it would evict everything else for nothing).
      maxEntrySize: maxBytes,
      sizeCalculation: (answer, key) => entryBytes(key, answer),
      ttl: options.ttlMs,
      // Expired entries go when they are next looked at or evicted: no timer per entry.
      ttlAutopurge: false,
      allowStale: false,
      updateAgeOnGet: false,
      // The clock is read on each use: lru-cache's default resolution (1 ms) arms a timer per read.
      ttlResolution: 0,
      ...(options.now ? { perf: { now: options.now } } : {}),
    });
  }

  /** The live answer under `key` (now the most recently used), or undefined. */
  get(key: string): CachedAnswer | undefined {
    return this.#entries.get(key);
  }

  /** Keeps `answer` under `key`, evicting the least recently used entries beyond the byte bound. */
  set(key: string, answer: CachedAnswer): void {
    this.#entries.set(key, answer);
  }

  /** Drops the entry under `key` (one found out of date). */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }

  /** Bytes the entries are counted for (`gateway_response_cache_bytes`). */
  get bytes(): number {
    return this.#entries.calculatedSize;
  }

  /** How many entries are held (expired ones not yet looked at included). */
  get size(): number {
    return this.#entries.size;
  }
}
