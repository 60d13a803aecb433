/**
 * Throttle windows: where the transport remembers that an upstream throttled a scope (a partner tenant, or
 * a partner and one of its customers) for longer than a call may wait, so that the scope's further calls
 * are answered without reaching the upstream until the window ends (src/upstream/throttle.ts applies them).
 *
 * `InProcessThrottleWindows` holds them in this process; `RedisThrottleWindows` shares them between every
 * replica on one Redis (one key per window, `<REDIS_KEY_PREFIX>throttle:<window>`, expiring with it: PX),
 * keeping a copy of what it has seen in
 * process, which also serves alone while Redis is unreachable (each replica then has its own windows;
 * logged).
 */
import { luaScript, type RedisConnection } from './redis-client.js';

/** Where windows live. Keys are opaque to the store (the transport names service and scope in them). */
export interface ThrottleWindowStore {
  /** Milliseconds left in the window `key`; 0 when none is open. */
  remainingMs(key: string): number | Promise<number>;
  /** Opens the window `key` for `ms` from now; a window already open for longer stays as it is. */
  open(key: string, ms: number): void | Promise<void>;
}

/** Options of `InProcessThrottleWindows`. */
export interface InProcessThrottleWindowsOptions {
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Most windows held; beyond it ended ones are dropped first, then the one ending soonest. Only throttled
   * scopes take room, so this is generous. @default 10000
   */
  readonly maxKeys?: number;
}

/** Windows in this process's memory, bounded. */
export class InProcessThrottleWindows implements ThrottleWindowStore {
  /** Key -> when the window ends (ms, `now`'s clock). */
  readonly #ends = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(options: InProcessThrottleWindowsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxKeys = Math.max(1, options.maxKeys ?? 10_000);
  }

  remainingMs(key: string): number {
    const end = this.#ends.get(key);
    if (end === undefined) return 0;
    const left = end - this.#now();
    if (left > 0) return left;
    this.#ends.delete(key);
    return 0;
  }

  open(key: string, ms: number): void {
    if (!(ms > 0)) return;
    const end = this.#now() + ms;
    const current = this.#ends.get(key);
    if (current !== undefined && current >= end) return;
    if (current === undefined && this.#ends.size >= this.#maxKeys) this.#evict();
    this.#ends.set(key, end);
  }

  /** How many windows are held (tests). */
  get size(): number {
    return this.#ends.size;
  }

  #evict(): void {
    const now = this.#now();
    for (const [key, end] of this.#ends) if (end <= now) this.#ends.delete(key);
    while (this.#ends.size >= this.#maxKeys) {
      let soonest: [string, number] | undefined;
      for (const entry of this.#ends) if (!soonest || entry[1] < soonest[1]) soonest = entry;
      this.#ends.delete(soonest![0]);
    }
  }
}

/**
 * Opens a window unless one that lasts longer is open: on Redis's own clock (PTTL, PX), so replicas with
 * skewed clocks agree on when it ends. ARGV: the window's length in ms. Returns the ms now left.
 */
const OPEN = luaScript(`
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return ms
end
return left
`);

/** Options of `RedisThrottleWindows`. */
export interface RedisThrottleWindowsOptions {
  /** The connection; it names the keys (`REDIS_KEY_PREFIX` first). */
  readonly connection: RedisConnection;
  /** The copy in process (tests pass one with a fake clock). @default a new `InProcessThrottleWindows` */
  readonly local?: InProcessThrottleWindows;
}

/**
 * Windows in Redis, shared by every replica: a key per window, `PX`-expiring when it ends, so an ended
 * window is no key at all. A window this replica knows of (it opened it, or read it once) is answered from
 * its copy in process without asking Redis again; a scope with no known window costs one `PTTL` per call.
 * Redis unreachable or slow: the copy in process answers alone (windows per replica) and a warning is
 * logged (at most one per interval), never an error for the call.
 */
export class RedisThrottleWindows implements ThrottleWindowStore {
  readonly #redis: RedisConnection;
  readonly #local: InProcessThrottleWindows;

  constructor(options: RedisThrottleWindowsOptions) {
    this.#redis = options.connection;
    this.#local = options.local ?? new InProcessThrottleWindows();
  }

  async remainingMs(key: string): Promise<number> {
    const known = this.#local.remainingMs(key);
    if (known > 0) return known;
    try {
      const left = await this.#redis.command(['PTTL', this.#redis.key('throttle', key)]);
      if (typeof left !== 'number' || left <= 0) return 0;
      this.#local.open(key, left);
      return left;
    } catch (error) {
      this.#warn(error);
      return 0;
    }
  }

  async open(key: string, ms: number): Promise<void> {
    const length = Math.ceil(ms);
    if (!(length > 0)) return;
    this.#local.open(key, length);
    try {
      const left = await this.#redis.script(OPEN, [this.#redis.key('throttle', key)], [String(length)]);
      // Another replica's longer window stands: remember that one.
      if (typeof left === 'number' && left > length) this.#local.open(key, left);
    } catch (error) {
      this.#warn(error);
    }
  }

  #warn(error: unknown): void {
    this.#redis.warn('throttle-windows', error, 'throttle windows: Redis unreachable, each replica keeps its own windows');
  }
}
