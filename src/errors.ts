/**
 * The gateway's error family (README, Errors), in one place as got keeps its errors:
 *
 * - one base, `GatewayError`, and one small class per reason, each with a stable contract `code`;
 *   resolvers, auth, the upstream clients and the plugins throw these and nothing else;
 * - one builder of `extensions` (`GatewayError.extensions()`), `extensions.upstream` included: a class
 *   only says which details it has (`details()`);
 * - one formatter, `formatGatewayError`, through which every error a client sees passes: Apollo's
 *   `formatError` (src/plugins/format-error.ts), errors raised before execution, and Fastify's error
 *   handler. Anything that is not a `GatewayError` is masked as `INTERNAL_SERVER_ERROR`.
 *
 * Only `requestLevelError` touches GraphQL (a refusal before execution must be Apollo's `GraphQLError`);
 * `src/upstream/` and `src/auth/` use the classes and never it. Reading upstream error bodies (REST) is
 * `src/upstream/error-dialect.ts`.
 */
import { STATUS_CODES } from 'node:http';
import { GraphQLError } from 'graphql';
import type { UpstreamService } from './upstreams.js';

/** An upstream the gateway calls: its id (`extensions.upstream.service`); the list is src/upstreams.ts. */
export type { UpstreamService };

/** The contract's error codes (README, Errors). */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_ERROR',
  'NOT_AVAILABLE_IN_CLOUD',
] as const;

/** One of the contract's error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Apollo Server's standard request-level codes, which the gateway keeps (README, Errors). */
export const APOLLO_REQUEST_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
] as const;

/** `extensions.upstream` (README, Errors): who failed, and the ids to quote to its support. */
export interface UpstreamDetails {
  /** The upstream, or `identity` for the token service of the on-behalf-of exchange. */
  readonly service: UpstreamService | 'identity';
  /** HTTP status of the (last) answer; `0` when there was none. */
  readonly status?: number;
  /** The upstream's own error code. */
  readonly code?: string;
  /** The upstream's request id (`MS-RequestId`, Graph `request-id`). */
  readonly requestId?: string;
  /** The correlation id of the failed request (the gateway's, or Entra ID's for `identity`). */
  readonly correlationId?: string;
}

/** What an error adds to `extensions` besides `code`: the one shape of every error's details. */
export interface ErrorDetails {
  /** BAD_USER_INPUT: the argument at fault, as its path in the arguments (`input.email`). */
  readonly field?: string;
  /** FORBIDDEN: the permission the operation needs, when that is the reason. */
  readonly requiredPermission?: string;
  /** NOT_AVAILABLE_IN_CLOUD: the configured cloud. */
  readonly cloud?: string;
  readonly upstream?: UpstreamDetails;
  /** RATE_LIMITED (and a lock wait): seconds until a retry may succeed. */
  readonly retryAfter?: number;
}

/** Base of every error the gateway means to show a client. Its message must be safe to show. */
export abstract class GatewayError extends Error {
  /** A contract code, or `BAD_REQUEST` (Apollo's code) for a request refused before GraphQL reads it. */
  abstract readonly code: ErrorCode | 'BAD_REQUEST';

  /** The details this error carries; each class names its own. */
  protected details(): ErrorDetails {
    return {};
  }

  /**
   * The message clients see in production: `message`, unless that quotes a text the gateway did not
   * write (an upstream's error description, which may hold inputs, tokens or internal names).
   */
  productionMessage(): string {
    return this.message;
  }

  /** The one builder of `extensions` besides `code` (unset details are left out). */
  extensions(): Record<string, unknown> {
    const { field, requiredPermission, cloud, upstream, retryAfter } = this.details();
    return {
      ...(field !== undefined && { field }),
      ...(requiredPermission !== undefined && { requiredPermission }),
      ...(cloud !== undefined && { cloud }),
      ...(upstream !== undefined && {
        upstream: { service: upstream.service, status: upstream.status, code: upstream.code, requestId: upstream.requestId, correlationId: upstream.correlationId },
      }),
      ...(retryAfter !== undefined && { retryAfter }),
    };
  }
}

/** One error as a client receives it (Apollo adds `locations` and `path` where there are some). */
export interface ClientError {
  readonly message: string;
  readonly extensions: { readonly code: string } & Readonly<Record<string, unknown>>;
}

/** What a client is told about an error the gateway did not mean to show. */
export const INTERNAL_ERROR_MESSAGE = 'Internal server error';

/** Options of `formatGatewayError`. */
export interface FormatOptions {
  /**
   * Production: a message quoting an upstream's own text is replaced by the one the gateway wrote
   * (`productionMessage`). @default false
   */
  readonly production?: boolean;
}

/**
 * The one formatter: a `GatewayError` keeps its message (its `productionMessage` in production) and
 * gains `code` and its extensions; anything else is masked as `INTERNAL_SERVER_ERROR` (its detail belongs
 * in the log, with the correlation id). Never throws, like Apollo's `errorNormalize.ts`.
 */
export function formatGatewayError(error: unknown, options: FormatOptions = {}): ClientError {
  if (error instanceof GatewayError) {
    return { message: options.production ? error.productionMessage() : error.message, extensions: { code: error.code, ...error.extensions() } };
  }
  return { message: INTERNAL_ERROR_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** No, expired, wrongly signed, wrong-issuer or wrong-audience token. */
export class AuthenticationError extends GatewayError {
  override readonly name = 'AuthenticationError';
  readonly code = 'UNAUTHENTICATED' as const;
}

/** The caller lacks a permission, is app-only where only App+User works, or is a personal account. */
export class ForbiddenError extends GatewayError {
  override readonly name = 'ForbiddenError';
  readonly code = 'FORBIDDEN' as const;
  constructor(
    message: string,
    /** The permission the operation needs, when that is the reason. */
    readonly requiredPermission?: string,
  ) {
    super(message);
  }
  protected override details(): ErrorDetails {
    return { requiredPermission: this.requiredPermission || undefined };
  }
}

/** Invalid argument; names the field (its path in the arguments, e.g. `input.email`). Nothing was sent upstream. */
export class BadUserInputError extends GatewayError {
  override readonly name = 'BadUserInputError';
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
  protected override details(): ErrorDetails {
    return { field: this.field };
  }
}

/**
 * A paging cursor that does not verify (tampered, signed with another key, of another list, too long) or
 * whose continuation leads outside its list, raised by the REST clients before anything is sent. They know
 * no GraphQL argument, so it names none: the features turn it into `BadUserInputError` on the argument
 * that carried the cursor (`after`, src/features/shared/pagination.ts).
 */
export class InvalidCursorError extends GatewayError {
  override readonly name = 'InvalidCursorError';
  readonly code = 'BAD_USER_INPUT' as const;
  constructor() {
    super('invalid cursor');
  }
}

/** The operation does not exist in the configured national cloud (docs/upstream.md §2.4). No call was made. */
export class NotAvailableInCloudError extends GatewayError {
  override readonly name = 'NotAvailableInCloudError';
  readonly code = 'NOT_AVAILABLE_IN_CLOUD' as const;
  constructor(
    readonly operation: string,
    readonly cloud: string,
  ) {
    super(`${operation} is not available in the ${cloud} cloud`);
  }
  protected override details(): ErrorDetails {
    return { cloud: this.cloud };
  }
}

/** A refusal that says when trying again makes sense (`extensions.retryAfter`, seconds). */
abstract class RetryLaterError extends GatewayError {
  constructor(
    message: string,
    /** Seconds until a retry may succeed. */
    readonly retryAfter: number,
  ) {
    super(message);
  }
  protected override details(): ErrorDetails {
    return { retryAfter: this.retryAfter };
  }
}

/** The caller is over the gateway's own rate limit. */
export class RateLimitedError extends RetryLaterError {
  override readonly name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED' as const;
}

/**
 * A request refused before GraphQL reads it (a body over the limit, unreadable JSON): Apollo's standard
 * `BAD_REQUEST` (README, Errors: request-level failures keep Apollo's codes).
 */
export class BadRequestError extends GatewayError {
  override readonly name = 'BadRequestError';
  readonly code = 'BAD_REQUEST' as const;
}

/**
 * The one mapping from an upstream HTTP status to the contract's code (README, Errors).
 *
 * - `401` → `UPSTREAM_ERROR`: the caller's own token was already validated by the gateway, so an upstream
 *   401 means the credential the *gateway* presented (on-behalf-of token, or a passthrough token the
 *   upstream does not accept, e.g. missing MFA claim, docs/upstream.md §1.2) was refused. Answering
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

/** What an `UpstreamError` is made of (src/upstream/error-dialect.ts reads it from an answer). */
export interface UpstreamErrorInit {
  readonly service: UpstreamService;
  /** The name messages give the upstream (its descriptor's `name`). */
  readonly serviceName: string;
  /** HTTP status of the (last) answer; `0` when there was none (connection failure, timeout, open circuit). */
  readonly status: number;
  /** The upstream's own error code (Partner Center's numeric `code` is kept as its decimal string). */
  readonly upstreamCode?: string;
  /**
   * The message the gateway wrote (`''`: one is written from the status); sanitized again here, so a
   * token can never reach a client through it.
   */
  readonly message: string;
  /**
   * The upstream's own description of the failure (Partner Center's `description`, Graph's
   * `error.message`), sanitized: logged, and the error's `message` outside production, never sent to a
   * client in production (it can quote inputs, tokens or internal class names).
   */
  readonly upstreamMessage?: string;
  /** The upstream's request id (`MS-RequestId` / Graph `request-id`), for support tickets. */
  readonly requestId?: string;
  /** The correlation id the gateway sent (`MS-CorrelationId` / `client-request-id`). */
  readonly correlationId: string;
  /** Seconds until a retry may succeed (from `Retry-After`). */
  readonly retryAfter?: number;
  /** The underlying error (got's `RequestError`, …), for logs only. */
  readonly cause?: unknown;
  /** The contract code when the status does not tell it (an answer over the size cap is UPSTREAM_ERROR whatever its status). */
  readonly code?: ErrorCode;
  /**
   * The secret values the request sent (its passwords, its token): redacted wherever they appear in the
   * messages, since an upstream may quote them back ("The password … does not meet complexity"). @default none
   */
  readonly secrets?: readonly string[];
}

/**
 * A failed upstream call, after the transport's retries. `code` is derived from `status` by
 * `contractCodeForStatus`; its details are `extensions.upstream` (+ `retryAfter`).
 */
export class UpstreamError extends GatewayError {
  override readonly name = 'UpstreamError';
  readonly code: ErrorCode;
  readonly service: UpstreamService;
  readonly status: number;
  readonly upstreamCode?: string;
  readonly requestId?: string;
  readonly correlationId: string;
  readonly retryAfter?: number;
  /** The upstream's own description, sanitized (see `UpstreamErrorInit.upstreamMessage`): for the log. */
  readonly upstreamMessage?: string;
  /** The message the gateway wrote: what production clients see. */
  private readonly gatewayMessage: string;
  /** The upstream's name in messages (kept for `withCorrelationId`). */
  private readonly serviceName: string;

  constructor(init: UpstreamErrorInit) {
    const gatewayMessage = sanitizeMessage(init.message, MAX_MESSAGE_LENGTH, init.secrets) || fallbackMessage(init.serviceName, init.status);
    const upstreamMessage = init.upstreamMessage === undefined ? undefined : sanitizeMessage(init.upstreamMessage, MAX_MESSAGE_LENGTH, init.secrets) || undefined;
    super(upstreamMessage ?? gatewayMessage, init.cause === undefined ? undefined : { cause: init.cause });
    this.gatewayMessage = gatewayMessage;
    this.upstreamMessage = upstreamMessage;
    this.serviceName = init.serviceName;
    this.service = init.service;
    this.status = init.status;
    this.code = init.code ?? contractCodeForStatus(init.status);
    this.upstreamCode = init.upstreamCode;
    this.requestId = init.requestId;
    this.correlationId = init.correlationId;
    this.retryAfter = init.retryAfter;
  }

  protected override details(): ErrorDetails {
    return {
      upstream: { service: this.service, status: this.status, code: this.upstreamCode, requestId: this.requestId, correlationId: this.correlationId },
      retryAfter: this.retryAfter,
    };
  }

  override productionMessage(): string {
    return this.gatewayMessage;
  }

  /**
   * The same failure as another request saw it: a coalesced read shares one call's error among every
   * request that waited for it, each with its own correlation id (README, Response cache and coalescing).
   */
  withCorrelationId(correlationId: string): UpstreamError {
    if (correlationId === this.correlationId) return this;
    return new UpstreamError({
      service: this.service,
      serviceName: this.serviceName,
      status: this.status,
      upstreamCode: this.upstreamCode,
      message: this.gatewayMessage,
      upstreamMessage: this.upstreamMessage,
      requestId: this.requestId,
      correlationId,
      retryAfter: this.retryAfter,
      cause: this.cause,
      code: this.code,
    });
  }
}

function fallbackMessage(serviceName: string, status: number): string {
  if (status === 0) return `${serviceName} did not answer`;
  const reason = STATUS_CODES[status];
  return `${serviceName} answered ${status}${reason ? ` ${reason}` : ''}`;
}

/** What the identity provider answered, for `extensions.upstream` and the log; never a token. */
export interface IdentityProviderDetails {
  /** The OAuth error (`invalid_client`, ...) or msal's error code (`network_error`, ...). */
  readonly code?: string;
  /** HTTP status, when one was received. */
  readonly status?: number;
  /** Entra ID's correlation id of the failed request, to quote to Microsoft support. */
  readonly correlationId?: string;
}

/** A failed exchange of the caller's token for an upstream one; carries what the identity provider said. */
abstract class TokenExchangeError extends GatewayError {
  constructor(
    message: string,
    readonly identityProvider: IdentityProviderDetails = {},
  ) {
    super(message);
  }
  protected override details(): ErrorDetails {
    const { status, code, correlationId } = this.identityProvider;
    return { upstream: { service: 'identity', status, code, correlationId } };
  }
}

/**
 * The identity provider could not be reached, timed out or answered 5xx/429 while exchanging the caller's
 * token for an upstream one. The caller's token may be fine, so this is not `UNAUTHENTICATED`: a client
 * should retry rather than sign the user out.
 */
export class TokenExchangeUnavailableError extends TokenExchangeError {
  override readonly name = 'TokenExchangeUnavailableError';
  readonly code = 'UPSTREAM_UNAVAILABLE' as const;
}

/**
 * The identity provider refused the exchange for a reason that is not the caller's token: the gateway's
 * own registration is wrong (`invalid_client`, `unauthorized_client`, `invalid_scope`, ...). An operator
 * must fix it; the client cannot.
 */
export class TokenExchangeFailedError extends TokenExchangeError {
  override readonly name = 'TokenExchangeFailedError';
  readonly code = 'UPSTREAM_ERROR' as const;
}

/**
 * The token's signing keys (JWKS or the issuer's OpenID configuration) could not be fetched. The token
 * was not judged, so this is not `UNAUTHENTICATED`: the client should retry, not sign the user out.
 */
export class SigningKeysUnavailableError extends GatewayError {
  override readonly name = 'SigningKeysUnavailableError';
  readonly code = 'UPSTREAM_UNAVAILABLE' as const;
}

const MAX_MESSAGE_LENGTH = 1024; // Partner Center's `description` is ≤1024 chars (docs/upstream.md §1.7)

/**
 * Removes anything that looks like a credential from a message: first every one of `secrets` (the
 * request's own secret values, as sent and JSON-escaped) wherever it appears, then `Bearer <x>`, JWT-like
 * strings (`eyJ….….…`), and `password` values in `key: value` / `"key":"value"` form; collapses control
 * characters and caps the length (after redacting, so no part of a secret is left at the cut). Used for
 * every message an `UpstreamError` carries, and for the (truncated) error bodies the transport logs.
 */
export function sanitizeMessage(text: string, maxLength = MAX_MESSAGE_LENGTH, secrets: readonly string[] = []): string {
  return redactSecrets(text, secrets)
    .replace(/\bBearer\s+[^\s"',;]+/gi, 'Bearer [redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/("?(?:password|access_token|refresh_token|client_secret)"?\s*[:=]\s*)("[^"]*"|[^\s,;}&]+)/gi, '$1[redacted]')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, maxLength);
}

/** `text` with every occurrence of each secret (raw, and as it reads inside a JSON string) replaced. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is not left half redacted.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret === '') continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    out = out.split(secret).join('[redacted]');
    if (escaped !== secret) out = out.split(escaped).join('[redacted]');
  }
  return out;
}

/**
 * The gateway's shared state could not serve a write: the support-profile lock store (Redis) is
 * unreachable, the lock stayed busy past the deadline, or the lease was lost (README, Running several
 * replicas). Nothing was written; `retryAfter` (seconds) says when trying again makes sense.
 */
export class SharedStateUnavailableError extends RetryLaterError {
  override readonly name = 'SharedStateUnavailableError';
  readonly code = 'UPSTREAM_UNAVAILABLE' as const;
}

/**
 * A gateway error raised before execution (in the context function: bad token, bad header, rate
 * limit), as Apollo Server expects it: a GraphQLError whose `extensions.http` sets the HTTP status
 * and headers of the whole response. Its body is still `formatError`'s, from the gateway error.
 */
export function requestLevelError(error: GatewayError, status: number, headers?: Record<string, string>): GraphQLError {
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: {
      ...formatGatewayError(error).extensions,
      http: { status, headers: new Map(Object.entries(headers ?? {})) },
    },
  });
}
