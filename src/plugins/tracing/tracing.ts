/**
 * Tracing as the rest of the gateway sees it: a small interface with no OpenTelemetry type in it. The
 * OpenTelemetry implementation (`otel.ts`) is loaded with a dynamic `import()` only when an OTLP endpoint
 * is configured, so with tracing off not one OpenTelemetry module is loaded and the hot path pays nothing
 * but an `undefined` check (test/architecture.test.ts keeps it that way).
 *
 * Span tree of one traced request: the HTTP server span (continuing an inbound W3C `traceparent`) >
 * the GraphQL operation > one span per root field > one client span per upstream try (whose own
 * `traceparent` that try sends) and the token exchange; Redis commands under whatever is active.
 * Spans carry no tokens, passwords or bodies: only methods, hosts, paths without query, statuses,
 * names, and the contract's error codes.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { TracingConfig } from '../../config.js';

/** How a traced piece of work ended: nothing for success, else the contract's error code. */
export interface SpanEnd {
  /** Contract or Apollo error code (`UPSTREAM_UNAVAILABLE`, `BAD_USER_INPUT`...). */
  readonly errorCode?: string;
}

/** A span in progress. */
export interface TracedWork {
  end(result?: SpanEnd): void;
}

/** The GraphQL operation span of one request. */
export interface OperationTrace {
  /** Names the span once the operation is resolved. */
  setOperation(type: string, name: string | undefined): void;
  /**
   * Runs one root field's resolver inside its own span (the span is the active one for everything the
   * resolver starts, so upstream tries nest under it); `codeOf` names a thrown error's contract code.
   */
  runRootField<T>(field: RootFieldInfo, run: () => T, codeOf: (error: unknown) => string): T;
  /** Ends the span; `errorCodes` are the codes of the response's errors. */
  end(errorCodes: readonly string[]): void;
}

/** Which root field a span is for. */
export interface RootFieldInfo {
  /** `Query` or `Mutation`. */
  readonly parentType: string;
  readonly fieldName: string;
  /** The response key (the alias, when there is one). */
  readonly responseKey: string;
}

/** One upstream try about to be sent. */
export interface UpstreamTryTrace {
  /** Headers the try must carry: its own `traceparent` (and `tracestate`). */
  readonly headers: Readonly<Record<string, string>>;
  /** `status` 0 when no answer came. */
  end(result: { readonly status: number; readonly errorCode?: string }): void;
}

/** What a try span is about. */
export interface UpstreamTryInfo {
  readonly service: string;
  readonly method: string;
  /** Absolute URL; only its host, port, scheme and path (never the query) reach the span. */
  readonly url: string;
  /** 0 for the first try; the retry number otherwise. */
  readonly attempt: number;
}

/** What a Redis command span is about: no key, value or argument, only the name and the server. */
export interface RedisCommandTraceInfo {
  /** The command's name, e.g. `SET`, `EVALSHA`. */
  readonly name: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  /** The database index. */
  readonly database: number;
}

/** The tracing of one gateway. */
export interface Tracing {
  /** Wraps `server`'s request handling in a server span, active for everything the request does. */
  instrumentServer(server: Server): void;
  /** Records the route pattern of a request for its server span (Fastify knows it after routing). */
  setRoute(request: IncomingMessage, route: string | undefined): void;
  /** `trace_id` and `span_id` of a request's server span, for its log lines (undefined when untraced). */
  logBindings(request: IncomingMessage): { readonly trace_id: string; readonly span_id: string } | undefined;
  /** `trace_id` and `span_id` of the active span (for log lines written outside a request's logger). */
  activeLogBindings(): { readonly trace_id: string; readonly span_id: string } | undefined;
  /**
   * Starts the GraphQL operation span under the active (server) span; undefined when the request is not
   * sampled (nothing of it would be recorded: its upstream tries still carry the trace's `traceparent`,
   * unsampled, but no operation or root-field span is made).
   */
  startOperation(): OperationTrace | undefined;
  /**
   * Marks the active span (a root field's) as served from the response cache: attribute
   * `gateway.response_cache.hit` = true, and `gateway.response_cache.service` the upstream.
   */
  markCacheHit(service: string): void;
  /** Starts the client span of one upstream try under the active span. */
  startUpstreamTry(info: UpstreamTryInfo): UpstreamTryTrace;
  /** Starts the span of one token exchange with the identity provider. */
  startTokenExchange(service: string): TracedWork;
  /**
   * Starts the client span of one Redis command under the active span (none when no span is active, as
   * for a command outside any request, or when it is not recorded). The command's name only, never its arguments.
   */
  startRedisCommand(info: RedisCommandTraceInfo): TracedWork;
  /**
   * Exports what is buffered and stops, waiting at most `TracingOptions.shutdownTimeoutMs` (1 s): an
   * unreachable collector never holds shutdown up (what is still unexported then is dropped, logged).
   */
  shutdown(): Promise<void>;
}

/** Where tracing says that spans could not be exported (a pino logger fits). */
export interface TracingLogger {
  warn(details: object, message: string): void;
}

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** Told when the collector cannot be reached (at most once a minute) or shutdown dropped spans. @default not logged */
  readonly logger?: TracingLogger;
  /** Longest `shutdown()` waits for the last spans to be exported, in milliseconds. @default 1000 */
  readonly shutdownTimeoutMs?: number;
}

/** Loads the OpenTelemetry implementation and starts it (only called when tracing is configured). */
export async function startTracing(config: TracingConfig, options: TracingOptions = {}): Promise<Tracing> {
  const { createOpenTelemetryTracing } = await import('./otel.js');
  return createOpenTelemetryTracing(config, options);
}

/**
 * Calls `report` at most once per `intervalMs` (the first call always gets through): a collector that
 * stays down is said once a minute, not once per export.
 */
export function throttled<A extends unknown[]>(intervalMs: number, report: (...args: A) => void, now: () => number = Date.now): (...args: A) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (...args) => {
    const at = now();
    if (at - last < intervalMs) return;
    last = at;
    report(...args);
  };
}

/** `url` for a log line: scheme, host, port and path, never credentials or a query. */
export function endpointForLog(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** A syntactically valid W3C `traceparent` (version 00 layout; all-zero ids are invalid). */
const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * With tracing off, the inbound trace context is forwarded upstream unchanged (README, Observability),
 * so a caller's trace still links to the upstream's logs: `traceparent` when it is well formed, with its
 * `tracestate` (bounded as the specification allows).
 */
export function inboundTraceHeaders(headers: IncomingMessage['headers']): Readonly<Record<string, string>> | undefined {
  const traceparent = headers.traceparent;
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return undefined;
  const tracestate = headers.tracestate;
  return typeof tracestate === 'string' && tracestate.length <= 512 ? { traceparent, tracestate } : { traceparent };
}
