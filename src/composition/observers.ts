/**
 * The observers the composition root hands to auth/, upstream/ and state/ so that they report to metrics and
 * tracing without knowing either (they see only their own small observer interfaces). Each function
 * returns `undefined` when there is nothing to report to, so a gateway with metrics and tracing off
 * passes no observer at all.
 */
import type { TokenRequestObserver } from '../auth/upstream-tokens.js';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { UpstreamObserver } from '../upstream/observer.js';
import type { ReadThroughObserver } from '../upstream/read-through.js';
import { redisErrorType, type RedisCommandObserver } from '../state/index.js';
import type { GatewayMetrics } from '../plugins/metrics/metrics.js';
import type { Tracing } from '../plugins/tracing/tracing.js';

/** Token requests → `gateway_upstream_token_requests_total` and a span per exchange. */
export function tokenRequestObserver(metrics: GatewayMetrics | undefined, tracing: Tracing | undefined): TokenRequestObserver | undefined {
  if (!metrics && !tracing) return undefined;
  return {
    cacheHit: (service) => metrics?.tokenRequest(service, 'cache_hit'),
    exchangeStarted(service) {
      const span = tracing?.startTokenExchange(service);
      return (outcome) => {
        metrics?.tokenRequest(service, outcome.ok ? 'exchanged' : 'failed');
        span?.end(outcome.ok ? undefined : { errorCode: outcome.errorCode });
      };
    },
  };
}

/**
 * Upstream tries and retries → `gateway_upstream_request_duration_seconds` (one observation per try),
 * `gateway_upstream_retries_total`, and one client span per try whose `traceparent` the try sends; calls
 * answered from a throttle window → `gateway_upstream_throttled_total`, the upstream's throttle-limit
 * ratio → `gateway_upstream_throttle_limit_ratio`.
 */
export function upstreamObserver(metrics: GatewayMetrics | undefined, tracing: Tracing | undefined): UpstreamObserver | undefined {
  if (!metrics && !tracing) return undefined;
  return {
    onTry(start) {
      const startedAt = performance.now();
      const span = tracing?.startUpstreamTry(start);
      return {
        headers: span?.headers,
        end(result) {
          metrics?.upstreamTry(start.service, start.method, result.status, (performance.now() - startedAt) / 1000);
          span?.end(result);
        },
      };
    },
    onRetry(service, reason) {
      metrics?.upstreamRetry(service, reason);
    },
    onThrottled(service) {
      metrics?.upstreamThrottled(service);
    },
    onThrottleLimit(service, ratio) {
      metrics?.upstreamThrottleLimit(service, ratio);
    },
  };
}

/**
 * The read-through layer → `gateway_upstream_coalesced_total`, `gateway_response_cache_requests_total`, and
 * a cache hit marked on the active span (the root field's).
 */
export function readThroughObserver(metrics: GatewayMetrics | undefined, tracing: Tracing | undefined): ReadThroughObserver | undefined {
  if (!metrics && !tracing) return undefined;
  return {
    onCoalesced: (service) => metrics?.upstreamCoalesced(service),
    onCacheLookup(service, result) {
      metrics?.responseCacheLookup(service, result);
      if (result === 'hit') tracing?.markCacheHit(service);
    },
  };
}

/** Redis commands → one client span each (a child of the active span), its error type on failure. */
export function redisCommandObserver(tracing: Tracing | undefined): RedisCommandObserver | undefined {
  if (!tracing) return undefined;
  return {
    onCommand(info) {
      const span = tracing.startRedisCommand(info);
      return { end: (error) => span.end(error === undefined ? undefined : { errorCode: redisErrorType(error) }) };
    },
  };
}

/** What upstream/ writes its lines to (the transport's `UpstreamLogger`). */
export interface LineLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** Whether lines of `level` are written, so a caller can skip building them. */
  isLevelEnabled(level: string): boolean;
}

/**
 * A logger for modules that log with the root logger rather than a request's (the transport): with
 * tracing on, each line gets the `trace_id` and `span_id` of the span active when it is written, so
 * every log line of a traced request carries them. Request loggers get them once, as child bindings.
 */
export function withTraceIds(log: Logger, tracing: Tracing | undefined): LineLogger {
  if (!tracing) return log;
  const write =
    (level: 'debug' | 'warn') =>
    (obj: object, msg?: string): void => {
      if (!log.isLevelEnabled(level)) return;
      const ids = tracing.activeLogBindings();
      log[level](ids ? { ...obj, ...ids } : obj, msg);
    };
  return { debug: write('debug'), warn: write('warn'), isLevelEnabled: (level) => log.isLevelEnabled(level) };
}
