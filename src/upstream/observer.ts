/**
 * What the transport tells whoever observes it (metrics, tracing), without knowing who that is: the
 * composition root passes an `UpstreamObserver`, and upstream/ imports neither prom-client nor
 * OpenTelemetry. Called on the hot path: implementations must be cheap and must not throw.
 */
import type { UpstreamError, UpstreamService } from '../errors.js';

/** One try about to be sent. */
export interface UpstreamTryStart {
  readonly service: UpstreamService;
  readonly method: string;
  /** Absolute URL, query included: an observer keeps only what it may show (never the query). */
  readonly url: string;
  /** 0 for the first try of a logical call, n for its n-th retry. */
  readonly attempt: number;
}

/** How one try ended. */
export interface UpstreamTryEnd {
  /** The HTTP status; 0 when no answer came (connection failure, timeout). */
  readonly status: number;
  /** The contract's code when the try failed (`UPSTREAM_UNAVAILABLE`, `RATE_LIMITED`...). */
  readonly errorCode?: string;
}

/** An observer's handle on one try. */
export interface UpstreamTryObservation {
  /** Headers this try must carry (its own `traceparent`); they replace the caller's forwarded ones. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called once, when the try has ended. */
  end(result: UpstreamTryEnd): void;
}

/** Why a retry is made. */
export type UpstreamRetryReason = 'throttled' | 'unavailable' | 'gateway_timeout' | 'timeout' | 'connection_failed' | 'other';

/** Observes the transport. */
export interface UpstreamObserver {
  onTry(start: UpstreamTryStart): UpstreamTryObservation;
  /** A retry (of a call, or of a throttled `$batch` sub-request) is about to be made. */
  onRetry(service: UpstreamService, reason: UpstreamRetryReason): void;
  /** A call was answered RATE_LIMITED from a throttle window (throttle.ts), without reaching the upstream. */
  onThrottled(service: UpstreamService): void;
  /** An answer carried the upstream's throttle-limit ratio (the profile's `throttleLimitHeader`), as sent. */
  onThrottleLimit(service: UpstreamService, ratio: number): void;
}

/** The reason to retry after `status` (0: no answer, then the network error code tells a timeout). */
export function retryReason(status: number, networkErrorCode?: string): UpstreamRetryReason {
  switch (status) {
    case 429:
      return 'throttled';
    case 503:
      return 'unavailable';
    case 504:
      return 'gateway_timeout';
    case 0:
      return networkErrorCode === 'ETIMEDOUT' ? 'timeout' : 'connection_failed';
    default:
      return 'other';
  }
}

/** `retryReason` of a failed try's error. */
export function retryReasonOf(error: UpstreamError): UpstreamRetryReason {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return retryReason(error.status, typeof code === 'string' ? code : undefined);
}
