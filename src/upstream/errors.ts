/**
 * The upstream error model: every failure of a Partner Center or Graph call becomes one
 * `UpstreamError`, whose contract code comes from ONE mapping, `contractCodeForStatus` (DESIGN.md, Errors).
 * The parsers here understand the error bodies the upstreams send (UPSTREAM.md §1.7, §2.5) and
 * never fail: an empty, truncated or HTML body still yields a clean error with a message from the status.
 * This module knows REST only; `formatError` turns `code` + `extensions()` into the GraphQL error.
 */
import { STATUS_CODES } from 'node:http';
import { GatewayError, UPSTREAM_NAMES } from '../errors.js';
import type { ErrorCode, UpstreamService } from '../errors.js';

/** Which upstream failed. */
export type UpstreamErrorService = UpstreamService;

/** The name messages give an upstream ("Partner Center did not answer"). */
export function upstreamName(service: UpstreamService): string {
  return UPSTREAM_NAMES[service];
}

/**
 * The one mapping from an upstream HTTP status to the contract's code (DESIGN.md, Errors).
 *
 * - `401` → `UPSTREAM_ERROR`: the caller's own token was already validated by the gateway, so an upstream
 *   401 means the credential the *gateway* presented (on-behalf-of token, or a passthrough token the
 *   upstream does not accept, e.g. missing MFA claim, UPSTREAM.md §1.2) was refused. Answering
 *   `UNAUTHENTICATED` would make clients sign in again in a loop that cannot fix it.
 * - `403` → `FORBIDDEN` (the contract lists an upstream 403 there: missing GDAP role, Entra role, …).
 * - `404` → `NOT_FOUND`; `409`/`412` → `CONFLICT`; `429` → `RATE_LIMITED`.
 * - `0` (no answer: connection failure, timeout, open circuit), `408` (the upstream's own timeout) and
 *   every `5xx` → `UPSTREAM_UNAVAILABLE`.
 * - anything else (400, 405, 424, an unexpected 2xx/3xx body…) → `UPSTREAM_ERROR`.
 */
export function contractCodeForStatus(status: number): ErrorCode {
  if (status === 0 || status === 408 || (status >= 500 && status <= 599)) return 'UPSTREAM_UNAVAILABLE';
  switch (status) {
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
    case 412:
      return 'CONFLICT';
    case 429:
      return 'RATE_LIMITED';
    default:
      return 'UPSTREAM_ERROR';
  }
}

/** What an `UpstreamError` is made of. */
export interface UpstreamErrorInit {
  readonly service: UpstreamErrorService;
  /** HTTP status of the (last) answer; `0` when there was none (connection failure, timeout, open circuit). */
  readonly status: number;
  /** The upstream's own error code (Partner Center's numeric `code` is kept as its decimal string). */
  readonly upstreamCode?: string;
  /** Message; sanitized again here, so a token can never reach a client through it. */
  readonly message: string;
  /** The upstream's request id (`MS-RequestId` / Graph `request-id`), for support tickets. */
  readonly requestId?: string;
  /** The correlation id the gateway sent (`MS-CorrelationId` / `client-request-id`). */
  readonly correlationId: string;
  /** Seconds until a retry may succeed (from `Retry-After`). */
  readonly retryAfter?: number;
  /** The underlying error (got's `RequestError`, …), for logs only. */
  readonly cause?: unknown;
}

/**
 * A failed upstream call, after the transport's retries. `code` is derived from `status` by
 * `contractCodeForStatus`; `extensions()` gives the contract's `extensions.upstream` (+ `retryAfter`).
 */
export class UpstreamError extends GatewayError {
  override readonly name = 'UpstreamError';
  readonly code: ErrorCode;
  readonly service: UpstreamErrorService;
  readonly status: number;
  readonly upstreamCode?: string;
  readonly requestId?: string;
  readonly correlationId: string;
  readonly retryAfter?: number;

  constructor(init: UpstreamErrorInit) {
    super(sanitizeMessage(init.message) || fallbackMessage(init.service, init.status), init.cause === undefined ? undefined : { cause: init.cause });
    this.service = init.service;
    this.status = init.status;
    this.code = contractCodeForStatus(init.status);
    this.upstreamCode = init.upstreamCode;
    this.requestId = init.requestId;
    this.correlationId = init.correlationId;
    this.retryAfter = init.retryAfter;
  }

  override extensions(): Record<string, unknown> {
    const ext: Record<string, unknown> = {
      upstream: {
        service: this.service,
        status: this.status,
        code: this.upstreamCode,
        requestId: this.requestId,
        correlationId: this.correlationId,
      },
    };
    if (this.retryAfter !== undefined) ext.retryAfter = this.retryAfter;
    return ext;
  }
}

const MAX_MESSAGE_LENGTH = 1024; // Partner Center's `description` is ≤1024 chars (UPSTREAM.md §1.7)

/**
 * Removes anything that looks like a credential from a message: `Bearer <x>`, JWT-like strings
 * (`eyJ….….…`), and `password` values in `key: value` / `"key":"value"` form; collapses control
 * characters and caps the length. Used for every message an `UpstreamError` carries, and for the
 * (truncated) error bodies the transport logs.
 */
export function sanitizeMessage(text: string, maxLength = MAX_MESSAGE_LENGTH): string {
  return text
    .replace(/\bBearer\s+[^\s"',;]+/gi, 'Bearer [redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/("?(?:password|access_token|refresh_token|client_secret)"?\s*[:=]\s*)("[^"]*"|[^\s,;}&]+)/gi, '$1[redacted]')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, maxLength);
}

function fallbackMessage(service: UpstreamErrorService, status: number): string {
  if (status === 0) return `${upstreamName(service)} did not answer`;
  const reason = STATUS_CODES[status];
  return `${upstreamName(service)} answered ${status}${reason ? ` ${reason}` : ''}`;
}

/** Response headers as Node gives them (lower-case names). */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** A header value from a case-insensitive lookup; the first value when repeated. */
export function headerValue(headers: HeaderBag | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string' && first !== '') return first;
  }
  return undefined;
}

/** Parses a body that may be JSON text, a Buffer, an already parsed value, or nothing. Never throws. */
export function parseJsonBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString().trim();
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  return body;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asString = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/** What the parsers extract from an error body. */
export interface ParsedErrorBody {
  readonly upstreamCode?: string;
  readonly message?: string;
  readonly requestId?: string;
}

/**
 * Partner Center error bodies (UPSTREAM.md §1.7): the API fault `{ code, description, data, source }`
 * with `code` a number in real answers and a string in the docs, and the throttling gateway's
 * `{ statusCode, message }` on 429.
 */
export function parsePartnerCenterErrorBody(body: unknown): ParsedErrorBody {
  const json = parseJsonBody(body);
  if (!isRecord(json)) return {};
  if ('description' in json || 'code' in json) {
    return { upstreamCode: asString(json.code), message: asString(json.description) ?? asString(json.message) };
  }
  if ('statusCode' in json || 'message' in json) {
    return { upstreamCode: asString(json.statusCode), message: asString(json.message) };
  }
  return {};
}

/**
 * Graph's OData error body (UPSTREAM.md §2.5): `{ error: { code, message, innerError: { 'request-id',
 * date, 'client-request-id' } } }`. `innerError` may be spelled `innererror` and may nest; the first
 * `request-id` found wins.
 */
export function parseGraphErrorBody(body: unknown): ParsedErrorBody {
  const json = parseJsonBody(body);
  if (!isRecord(json) || !isRecord(json.error)) return {};
  const error = json.error;
  let requestId: string | undefined;
  let inner: unknown = error.innerError ?? error.innererror;
  for (let depth = 0; isRecord(inner) && depth < 5 && !requestId; depth++) {
    requestId = asString(inner['request-id']) ?? asString(inner.requestId);
    inner = inner.innerError ?? inner.innererror;
  }
  return { upstreamCode: asString(error.code), message: asString(error.message), requestId };
}

/** How one upstream's answers name and explain a failure: the part of its profile the error model needs. */
export interface UpstreamErrorDialect {
  readonly service: UpstreamService;
  /** Lower-case name of the header carrying the upstream's own request id (UPSTREAM.md §1.3, §2.5). */
  readonly requestIdHeader: string;
  /** Reads the upstream's error body (never throws; `{}` when it cannot). */
  parseErrorBody(body: unknown): ParsedErrorBody;
}

/** Input of `upstreamErrorFromResponse`. */
export interface ErrorResponse {
  /** The upstream that answered (its profile). */
  readonly upstream: UpstreamErrorDialect;
  readonly status: number;
  readonly headers?: HeaderBag;
  /** Raw text/Buffer or an already parsed JSON value (a `$batch` sub-response body). */
  readonly body?: unknown;
  readonly correlationId: string;
  /** Seconds from `Retry-After`, when the caller computed it. */
  readonly retryAfter?: number;
  /** A request id to use when neither the headers nor the body carry one (e.g. the `$batch` envelope's). */
  readonly fallbackRequestId?: string;
}

/** Builds the `UpstreamError` for a non-success answer, whatever its body. */
export function upstreamErrorFromResponse(res: ErrorResponse): UpstreamError {
  const { upstream } = res;
  const parsed = upstream.parseErrorBody(res.body);
  return new UpstreamError({
    service: upstream.service,
    status: res.status,
    upstreamCode: parsed.upstreamCode,
    message: parsed.message ?? '',
    requestId: headerValue(res.headers, upstream.requestIdHeader) ?? parsed.requestId ?? res.fallbackRequestId,
    correlationId: res.correlationId,
    retryAfter: res.retryAfter,
  });
}

/**
 * A 2xx answer whose body is not what the operation returns (not an object, no `id`, a link pointing
 * elsewhere…): `UPSTREAM_ERROR` via its 2xx status, with the upstream's request id for support.
 */
export function unexpectedAnswer(
  service: UpstreamErrorService,
  answer: { readonly status: number; readonly requestId?: string },
  correlationId: string,
  what: string,
): UpstreamError {
  return new UpstreamError({
    service,
    status: answer.status,
    message: `${upstreamName(service)} answered with ${what}`,
    requestId: answer.requestId,
    correlationId,
  });
}
