/**
 * Reading the upstreams' error answers (REST only, no GraphQL): the bodies Partner Center and Graph
 * send (docs/upstream.md §1.7, §2.5) become the data of one `UpstreamError` (src/errors.ts), whose contract
 * code comes from its status. The parsers never fail: an empty, truncated or HTML body still yields a
 * clean error with a message from the status. The client's message (in production) is always one the
 * gateway wrote, from the upstream's code where the profile knows it, else from the status; the
 * upstream's own description is kept apart for the log. Which parser and which request-id header apply is the
 * upstream's profile's say (`UpstreamErrorDialect`).
 */
import { UpstreamError } from '../errors.js';
import type { UpstreamService } from '../errors.js';

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
 * Partner Center error bodies (docs/upstream.md §1.7): the API fault `{ code, description, data, source }`
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
 * Graph's OData error body (docs/upstream.md §2.5): `{ error: { code, message, innerError: { 'request-id',
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
  /** The name messages give the upstream ("Partner Center did not answer"). */
  readonly name: string;
  /** Lower-case name of the header carrying the upstream's own request id (docs/upstream.md §1.3, §2.5). */
  readonly requestIdHeader: string;
  /** Reads the upstream's error body (never throws; `{}` when it cannot). */
  parseErrorBody(body: unknown): ParsedErrorBody;
  /**
   * The messages the gateway writes for the upstream's own error codes it knows, by lower-case code
   * (docs/upstream.md §1.7, §2.5). Any other code gets a message written from the HTTP status. The upstream's
   * description is never the client's message in production (`UpstreamError.upstreamMessage`).
   */
  readonly errorMessages: Readonly<Record<string, string>>;
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
  /** The request's own secret values, redacted wherever the answer quotes them (`UpstreamErrorInit.secrets`). */
  readonly secrets?: readonly string[];
}

/** Builds the `UpstreamError` for a non-success answer, whatever its body. */
export function upstreamErrorFromResponse(res: ErrorResponse): UpstreamError {
  const { upstream } = res;
  const parsed = upstream.parseErrorBody(res.body);
  return new UpstreamError({
    service: upstream.service,
    serviceName: upstream.name,
    status: res.status,
    upstreamCode: parsed.upstreamCode,
    message: (parsed.upstreamCode !== undefined && upstream.errorMessages[parsed.upstreamCode.toLowerCase()]) || '',
    upstreamMessage: parsed.message,
    requestId: headerValue(res.headers, upstream.requestIdHeader) ?? parsed.requestId ?? res.fallbackRequestId,
    correlationId: res.correlationId,
    retryAfter: res.retryAfter,
    secrets: res.secrets,
  });
}

/**
 * A 2xx answer whose body is not what the operation returns (not an object, no `id`, a link pointing
 * elsewhere…): `UPSTREAM_ERROR` via its 2xx status, with the upstream's request id for support.
 */
export function unexpectedAnswer(
  upstream: Pick<UpstreamErrorDialect, 'service' | 'name'>,
  answer: { readonly status: number; readonly requestId?: string },
  correlationId: string,
  what: string,
): UpstreamError {
  return new UpstreamError({
    service: upstream.service,
    serviceName: upstream.name,
    status: answer.status,
    message: `${upstream.name} answered with ${what}`,
    requestId: answer.requestId,
    correlationId,
  });
}
