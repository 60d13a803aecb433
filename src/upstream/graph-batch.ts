/**
 * Graph's JSON `$batch` (docs/upstream.md §2.6) for reads: many GETs in one POST, chunked at the batch
 * limit, with throttled sub-requests retried alone under the transport's retry rule.
 */
import { UpstreamError } from '../errors.js';
import { headerValue, unexpectedAnswer, upstreamErrorFromResponse } from './error-dialect.js';
import type { HeaderBag } from './error-dialect.js';
import type { UpstreamCaller, UpstreamProfile, UpstreamResponse, UpstreamTransport } from './transport.js';
import { isRetryableStatus, parseRetryAfter, retryAfterSeconds } from './retry.js';

/** What a batch of reads needs: where to send it, for whom, and how to read one sub-answer. */
export interface BatchOptions<T> {
  readonly transport: UpstreamTransport;
  /** The upstream's profile (its service, error dialect and request-id header). */
  readonly upstream: UpstreamProfile;
  readonly caller: UpstreamCaller;
  /** Absolute URL of the `$batch` endpoint. */
  readonly batchUrl: string;
  /** Most sub-requests in one batch. */
  readonly maxSize: number;
  /** Reads a 2xx sub-answer's body; throws an `UpstreamError` when it is not what was asked for. */
  read(body: unknown, answer: { status: number; requestId?: string }): T;
}

/** One `$batch` sub-answer (docs/upstream.md §2.6). */
interface BatchSubResponse {
  readonly id?: unknown;
  readonly status?: unknown;
  readonly headers?: unknown;
  readonly body?: unknown;
}

/**
 * Reads distinct `ids` in chunks of `maxSize`, the chunks in parallel (a DataLoader's caller waits for
 * the slowest one anyway); `urlOf` gives an id's sub-request URL, relative to the batch's version root.
 */
export async function batchGet<T>(ids: readonly string[], urlOf: (id: string) => string, options: BatchOptions<T>): Promise<Map<string, T | UpstreamError>> {
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += options.maxSize) chunks.push(ids.slice(i, i + options.maxSize));
  const found = new Map<string, T | UpstreamError>();
  for (const chunk of await Promise.all(chunks.map((chunk) => runChunk(chunk, urlOf, options)))) for (const [id, r] of chunk) found.set(id, r);
  return found;
}

/**
 * One chunk (at most `maxSize` distinct ids) as `$batch`, with throttled sub-requests retried alone.
 *
 * - Sub-request ids are the positions `"0"…"19"`, not the resource ids: `$batch` ids must be unique
 *   case-insensitively (§2.6), resource ids need not be.
 * - Answers come in any order: matched by sub-request id.
 * - Each sub-request is throttled on its own (429, or 503/504, with `Retry-After` in its own
 *   headers): only those are sent again, in one follow-up batch, after the LONGEST Retry-After
 *   (§2.6; the SDKs do not do this for you), at most `maxRetries` times and never past the deadline;
 *   otherwise they keep their error (RATE_LIMITED with `retryAfter`).
 * - A 404 sub-answer is NOT_FOUND for that id alone; an envelope failure (400, 424, 5xx after the
 *   transport's retries…) is that error for every id of the chunk.
 */
async function runChunk<T>(ids: readonly string[], urlOf: (id: string) => string, options: BatchOptions<T>): Promise<Map<string, T | UpstreamError>> {
  const { transport, upstream, caller } = options;
  const results = new Map<string, T | UpstreamError>();
  const policy = transport.policy;
  const deadlineAt = policy.now() + policy.deadlineMs;
  let pending = ids;

  for (let attempt = 0; pending.length > 0; attempt++) {
    let envelope: UpstreamResponse<unknown>;
    try {
      envelope = await transport.request<unknown>({
        method: 'POST',
        url: options.batchUrl,
        json: { requests: pending.map((id, i) => ({ id: String(i), method: 'GET', url: urlOf(id) })) },
        deadlineAt,
        upstream,
        caller,
      });
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      for (const id of pending) results.set(id, error);
      return results;
    }

    const responses = (envelope.body as { responses?: unknown } | undefined)?.responses;
    const byId = new Map<string, BatchSubResponse>();
    if (Array.isArray(responses)) {
      for (const r of responses as BatchSubResponse[]) if (r && typeof r === 'object') byId.set(String(r.id), r);
    }

    const throttled: Array<{ id: string; error: UpstreamError; retryAfterHeader?: string }> = [];
    pending.forEach((id, i) => {
      const sub = byId.get(String(i));
      if (!sub) {
        results.set(id, unexpectedAnswer(upstream, envelope, caller.correlationId, 'a $batch answer missing a response'));
        return;
      }
      const status = typeof sub.status === 'number' ? sub.status : Number(sub.status);
      const headers = lowerCaseHeaders(sub.headers);
      if (status >= 200 && status < 300) {
        try {
          results.set(id, options.read(sub.body, { status, requestId: headerValue(headers, upstream.requestIdHeader) ?? envelope.requestId }));
        } catch (error) {
          results.set(id, error as UpstreamError);
        }
        return;
      }
      const retryAfterHeader = headerValue(headers, 'retry-after');
      const error = upstreamErrorFromResponse({
        upstream,
        status: Number.isFinite(status) ? status : 0,
        headers,
        body: sub.body,
        correlationId: caller.correlationId,
        retryAfter: retryAfterSeconds(status, retryAfterHeader, policy.now()),
        fallbackRequestId: envelope.requestId,
      });
      results.set(id, error);
      if (isRetryableStatus(status)) throttled.push({ id, error, retryAfterHeader });
    });

    if (throttled.length === 0) break;
    // The transport's own rule, waiting for the longest Retry-After; when it says stop, the throttled
    // ids keep their error (RATE_LIMITED + retryAfter).
    const decision = policy.decide(attempt, throttled.map((t) => t.retryAfterHeader), deadlineAt);
    if (!decision.retry) {
      // A 429 asking for longer than the deadline leaves opens the tenant's throttle window, as the
      // transport does for a whole call (throttle.ts): the longest Retry-After of the throttled ones.
      if (decision.why === 'past-deadline') {
        const asked = throttled.filter((t) => t.error.status === 429).map((t) => parseRetryAfter(t.retryAfterHeader, policy.now()) ?? 0);
        if (asked.length > 0) await policy.throttled({ upstream, caller }, Math.max(...asked));
      }
      break;
    }
    for (const t of throttled) policy.retried(upstream.service, t.error.status);
    await policy.sleep(decision.delayMs);
    pending = throttled.map((t) => t.id);
  }
  return results;
}

function lowerCaseHeaders(headers: unknown): HeaderBag {
  const out: Record<string, string> = {};
  if (typeof headers === 'object' && headers !== null) {
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  return out;
}
