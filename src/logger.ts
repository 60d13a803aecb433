/**
 * The process logger (pino, JSON lines). Credentials never reach a log line: errors are serialized
 * to a fixed set of fields (so a got error's request options, with their `Authorization` header,
 * never are), and the places a token or password could appear in a logged object are redacted.
 *
 * Wildcards reach one level down only: each `*` level makes pino walk every logged object again, on
 * every line; deeper places that can hold a secret are listed concretely.
 *
 * Lines go to stdout in batches: one synchronous write per line is a large share of the gateway's CPU
 * under load. The default destination is sonic-boom with `minLength` (writes
 * wait for a few KB of lines, then go out asynchronously), a timer that flushes whatever is buffered so a
 * line reaches the output within a second even when traffic is light (README, Observability), and
 * {@link flushLog} for shutdown (pino also flushes synchronously on process exit).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths redacted from every log line. */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'token',
  'accessToken',
  'clientSecret',
  'password',
  'passwordProfile',
  'input.passwordProfile',
  'variables.input.passwordProfile',
  'body.passwordProfile',
  '*.authorization',
  '*.token',
  '*.accessToken',
  '*.clientSecret',
  '*.password',
  '*.passwordProfile',
];

/** The only fields of an error that are logged (stack traces stay in the log, never in a response). */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code, status } = error as Error & { code?: unknown; status?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(code !== undefined ? { code } : {}),
    ...(status !== undefined ? { status } : {}),
    stack: error.stack,
    ...(error.cause !== undefined ? { cause: serializeError(error.cause) } : {}),
  };
}

export interface LoggerOptions {
  /** pino level. @default 'info' */
  level?: string;
  /** Where lines go. @default stdout, batched (see batchBytes, flushIntervalMs) */
  destination?: pino.DestinationStream;
  /**
   * Default destination only: bytes of lines buffered before an asynchronous write; 0 writes each line
   * synchronously. Below sonic-boom's maxWrite (16 KiB). @default 8192
   */
  batchBytes?: number;
  /** Default destination only: how often buffered lines are written regardless of batchBytes. @default 500 */
  flushIntervalMs?: number;
}

/** stdout as pino's sonic-boom destination, batched, with a flush timer that never keeps the process up. */
function batchedStdout(batchBytes: number, flushIntervalMs: number): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: batchBytes <= 0, minLength: Math.max(0, batchBytes) });
  if (batchBytes > 0) {
    const timer = setInterval(() => {
      try {
        stream.flush();
      } catch {
        clearInterval(timer); // destroyed
      }
    }, flushIntervalMs);
    timer.unref();
    stream.once('close', () => clearInterval(timer));
  }
  return stream;
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * pino's `timestamp` option: `,"time":"<ISO 8601, ms, UTC>"`, the same text as `pino.stdTimeFunctions.isoTime`
 * but with the date and time up to the second formatted once per second: `Date#toISOString` on every
 * line was a visible share of the request log line's cost in profiles.
 */
export function isoTimestamp(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20); // 2026-12-02T01:42:50.
  }
  const ms = now - second * 1000;
  return `,"time":"${cachedPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/** Creates the root logger; request loggers are its children carrying the correlation id. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'partner-bff-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError },
      timestamp: isoTimestamp,
    },
    options.destination ?? batchedStdout(options.batchBytes ?? 8192, options.flushIntervalMs ?? 500),
  );
}

/**
 * A sibling of `log` (same destination, level, base fields and timestamp) that does not run the
 * redaction paths: for lines built only from fields known to hold no secret, such as the request log
 * line (plugins/request-log.ts). Redaction walks every path on every line, most of such a line's cost.
 */
export function unredactedSibling(log: Logger): Logger {
  return log.child({}, { redact: [] });
}

/**
 * A child logger built on first use: Fastify makes one logger per request (carrying its correlation
 * id), but most requests write nothing through it (their one line is the request log's), and building a
 * pino child with its bindings serialized was a measurable part of every request. Same methods and
 * output as the child it stands for.
 */
export function deferredChild(create: () => Logger): Logger {
  return new DeferredLogger(create) as unknown as Logger;
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

class DeferredLogger {
  #logger: Logger | undefined;
  readonly #create: () => Logger;

  constructor(create: () => Logger) {
    this.#create = create;
  }

  get #real(): Logger {
    return (this.#logger ??= this.#create());
  }

  #write(method: LogMethod, args: unknown[]): void {
    (this.#real[method] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#real.level;
  }
  set level(level: string) {
    this.#real.level = level;
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.#real.child(bindings, options);
  }
  isLevelEnabled(level: string): boolean {
    return this.#real.isLevelEnabled(level);
  }
  bindings(): pino.Bindings {
    return this.#real.bindings();
  }
  flush(callback?: (error?: Error) => void): void {
    this.#real.flush(callback);
  }
}

/**
 * Writes out every buffered line (shutdown: before `process.exit`). Resolves once written, on a write
 * error, or after `timeoutMs` (a blocked stdout must not hold the exit up).
 */
export function flushLog(log: Logger, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    try {
      log.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      // A destroyed stream has nothing left to write.
      clearTimeout(timer);
      resolve();
    }
  });
}
