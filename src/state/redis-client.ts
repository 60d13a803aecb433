/**
 * The one Redis connection of a process (node-redis), and the one function every Redis command goes
 * through (`command`, and `script` on top of it): the seam for tracing and metrics. What it reports goes
 * to an optional `RedisCommandObserver` (the composition root's, with tracing on: one client span per
 * command); without one, a command costs one `undefined` check more.
 *
 * Failure policy (issue 17, item 5), chosen so a Redis outage can never do harm later:
 * - `disableOfflineQueue`: while disconnected a command fails at once (node-redis would otherwise queue
 *   it and run it after the reconnect: a late `SET NX` would leave an orphan lock);
 * - every command has a short timeout (`commandTimeoutMs`), from the call to the reply;
 * - an `'error'` listener is always attached (without one, an error event ends the process), and it logs
 *   at most once per `warnIntervalMs`, so an outage does not flood the log;
 * - reconnects forever with capped, jittered backoff, so the gateway recovers by itself;
 * - start-up waits at most `connectTimeoutMs` for the first connection: a replica whose Redis is down
 *   still starts and serves reads.
 *
 * The URL is never logged with its credentials (`redactRedisUrl`).
 *
 * Key names: every key (and every key a script is given in `KEYS`) is built with `key()`, which puts
 * `REDIS_KEY_PREFIX` first, so deployments sharing one Redis database never touch each other's state.
 * node-redis has no prefix option of its own: a module that wrote a key name by hand would escape it.
 */
import { createHash } from 'node:crypto';

/** The subset of a pino logger used here. */
export interface StateLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of `createRedisConnection`. */
export interface RedisConnectionOptions {
  /** `REDIS_URL` (`redis://` or `rediss://`). */
  readonly url: string;
  /** `REDIS_KEY_PREFIX`: the start of every key name (`key()`). */
  readonly keyPrefix: string;
  /** Timeout of one command. @default 500 */
  readonly commandTimeoutMs?: number;
  /** Timeout of one connection attempt, and the longest start-up waits for the first one. @default 2000 */
  readonly connectTimeoutMs?: number;
  /** Longest wait between reconnection attempts (backoff 50 ms doubling, with jitter, up to this). @default 1000 */
  readonly maxReconnectDelayMs?: number;
  /** At most one warning per this interval and kind of failure. @default 10000 */
  readonly warnIntervalMs?: number;
  readonly logger: StateLogger;
  /** Told of every command (tracing); none: nothing is reported. */
  readonly observer?: RedisCommandObserver;
}

/**
 * What one command tells its observer: the command's name and where it goes, never a key, a value, an
 * argument or a credential.
 */
export interface RedisCommandInfo {
  /** The command's name, upper case (`SET`, `EVALSHA`); `OTHER` if the first word is not a command name. */
  readonly name: string;
  /** Host of `REDIS_URL`. */
  readonly serverAddress: string;
  readonly serverPort: number;
  /** Database index of `REDIS_URL` (`redis://host:6379/2` → 2). */
  readonly database: number;
}

/** Hears of each command as it is sent, and how it ended. */
export interface RedisCommandObserver {
  /** Called as a command is sent; `end` is called once, with the error when it failed or timed out. */
  onCommand(info: RedisCommandInfo): { end(error?: unknown): void };
}

/** A Lua script run by `EVALSHA`, falling back to `EVAL` once when the server does not know it yet. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

/** Builds a `LuaScript` (its SHA-1 is what `EVALSHA` names). */
export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** A Redis reply value (RESP2/3 as node-redis maps them, without type mapping). */
export type RedisReply = string | number | null | RedisReply[] | Buffer;

/** The process's Redis connection. */
export interface RedisConnection {
  /**
   * The name of a key: `REDIS_KEY_PREFIX` followed by the parts joined with `:`
   * (`key('lock', 'support-profile:<tenant>')` = `partner-bff:lock:support-profile:<tenant>`). Every key
   * a command or a script's `KEYS` names is built here.
   */
  key(...parts: readonly string[]): string;
  /** Runs one command (e.g. `['SET', key, value, 'NX', 'PX', '1000']`). Rejects when offline or slow. */
  command(args: readonly string[]): Promise<RedisReply>;
  /** Runs a Lua script with its keys and arguments. */
  script(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<RedisReply>;
  /** True while connected (commands can be sent). */
  readonly ready: boolean;
  /** PINGs Redis: `/readyz`'s `redis` entry. Never throws. */
  health(): Promise<RedisHealth>;
  /** Calls `listener` whenever the connection drops (every lock held through it is then in doubt). */
  onConnectionLost(listener: () => void): void;
  /** Logs `message` as a warning, at most once per interval for each `kind`. */
  warn(kind: string, error: unknown, message: string): void;
  /** Closes the connection (pending commands fail). */
  close(): Promise<void>;
}

/** What `/readyz` says about Redis. Redis down never makes the replica unready: it still serves reads. */
export type RedisHealth =
  | { readonly reachable: true; readonly latencyMs: number }
  | { readonly reachable: false; readonly error: string };

/** `redis://user:secret@host:6379/0` → `redis://***@host:6379/0`; anything unparsable → `(invalid URL)`. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const auth = parsed.username || parsed.password ? '***@' : '';
    return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A short, credential-free description of a Redis failure for logs and `/readyz`. */
export function describeRedisError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code) return code;
  // node-redis errors carry their kind in `name` (ClientOfflineError, TimeoutError, ...) and the message.
  return error.name && error.name !== 'Error' ? error.name : error.message.slice(0, 200);
}

/**
 * A bounded, credential-free name for a command's failure (a span's `error.type`): the reply's error
 * prefix for an error reply (`NOSCRIPT`, `WRONGTYPE`, `ERR`), the errno code for a socket error, the error
 * class otherwise (`RedisCommandTimeoutError`, `ClientOfflineError`...). Never the message itself, which
 * may quote a key.
 */
export function redisErrorType(error: unknown): string {
  if (!(error instanceof Error)) return 'Error';
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(code)) return code;
  if (error.name && error.name !== 'Error') return error.name.slice(0, 60);
  // node-redis's ErrorReply keeps Redis's own text, which starts with the error's kind in capitals.
  return /^([A-Z][A-Z_]{1,39})\b/.exec(error.message)?.[1] ?? 'Error';
}

/** `args[0]` as a span may show it: a command name (letters, `_`, `.`, `|` as in `ACL|CAT`), else `OTHER`. */
function commandName(first: string | undefined): string {
  return first !== undefined && /^[A-Za-z][A-Za-z_.|]{0,31}$/.test(first) ? first.toUpperCase() : 'OTHER';
}

/** Where `url` points, for the observer (the URL was already accepted by the config schema). */
function serverOf(url: string): Pick<RedisCommandInfo, 'serverAddress' | 'serverPort' | 'database'> {
  try {
    const parsed = new URL(url);
    const database = Number(parsed.pathname.slice(1) || 0);
    return {
      serverAddress: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      serverPort: Number(parsed.port) || 6379,
      database: Number.isInteger(database) ? database : 0,
    };
  } catch {
    return { serverAddress: 'unknown', serverPort: 6379, database: 0 };
  }
}

/** A command that got no answer in time (the server may still run it). */
export class RedisCommandTimeoutError extends Error {
  override readonly name = 'RedisCommandTimeoutError';
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
  }
}

/** Opens the connection; resolves once connected or after `connectTimeoutMs`, whichever is first. */
export async function createRedisConnection(options: RedisConnectionOptions): Promise<RedisConnection> {
  const { url, logger, observer } = options;
  const commandTimeoutMs = options.commandTimeoutMs ?? 500;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  const maxReconnectDelayMs = options.maxReconnectDelayMs ?? 1000;
  const warnIntervalMs = options.warnIntervalMs ?? 10_000;
  const where = redactRedisUrl(url);

  // Loaded only when REDIS_URL is set: node-redis adds ~10 MB to the resident size of a gateway that never uses it.
  const { createClient } = await import('redis');
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      // 50 ms doubling up to the cap, ±25 % jitter so replicas do not reconnect in lockstep; never gives up.
      reconnectStrategy: (retries: number) => Math.round(Math.min(maxReconnectDelayMs, 50 * 2 ** Math.min(retries, 10)) * (0.75 + Math.random() / 2)),
    },
  });

  const lastWarned = new Map<string, number>();
  const warn = (kind: string, error: unknown, message: string): void => {
    const now = Date.now();
    if (now - (lastWarned.get(kind) ?? -Infinity) < warnIntervalMs) return;
    lastWarned.set(kind, now);
    logger.warn({ redis: where, error: describeRedisError(error) }, message);
  };
  let everReady = false;
  const lostListeners: Array<() => void> = [];
  client.on('error', (error: unknown) => {
    warn('connection', error, 'Redis connection failed; retrying');
    for (const listener of lostListeners) listener();
  });
  client.on('ready', () => {
    logger.info({ redis: where }, everReady ? 'Redis reconnected' : 'Redis connected');
    everReady = true;
    lastWarned.delete('connection');
  });

  const connected = client.connect().then(
    () => true,
    () => false, // only when closed while connecting
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([connected, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), connectTimeoutMs)))]);
  clearTimeout(timer);
  if (!waited) logger.warn({ redis: where }, 'Redis is not reachable at start-up: shared state degrades until it is (see README, Running several replicas)');

  // node-redis's own `timeout` covers only the wait to be written, not the wait for the reply, so
  // the whole command races a timer too. A command given up on keeps its place on the connection (its
  // late reply is dropped), and what it does still happens: see the lock's release after a failed SET.
  const send = (args: readonly string[]): Promise<RedisReply> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RedisCommandTimeoutError(commandTimeoutMs)), commandTimeoutMs);
      client.sendCommand(args, { timeout: commandTimeoutMs }).then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply as unknown as RedisReply);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  const server = observer ? serverOf(url) : undefined;
  const command = !observer
    ? send
    : (args: readonly string[]): Promise<RedisReply> => {
        const traced = observer.onCommand({ name: commandName(args[0]), ...server! });
        return send(args).then(
          (reply) => {
            traced.end();
            return reply;
          },
          (error: unknown) => {
            traced.end(error);
            throw error;
          },
        );
      };

  const { keyPrefix } = options;
  return {
    key: (...parts) => keyPrefix + parts.join(':'),
    command,
    async script(lua, keys, args) {
      const rest = [String(keys.length), ...keys, ...args];
      try {
        return await command(['EVALSHA', lua.sha1, ...rest]);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return command(['EVAL', lua.source, ...rest]);
      }
    },
    get ready() {
      return client.isReady;
    },
    async health() {
      const started = performance.now();
      try {
        await command(['PING']);
        return { reachable: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
      } catch (error) {
        return { reachable: false, error: describeRedisError(error) };
      }
    },
    onConnectionLost(listener) {
      lostListeners.push(listener);
    },
    warn,
    async close() {
      client.destroy();
      await connected;
    },
  };
}
