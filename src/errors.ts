/**
 * The gateway's error classes, one per contract code (DESIGN.md, Errors). Resolvers, auth and the
 * upstream clients throw these and nothing else; `formatError` in `graphql-errors.ts` turns them into
 * `extensions.code` (+ details). They import nothing from GraphQL so `src/upstream/` can use them.
 */

/**
 * The upstreams the gateway calls, with the name its messages give each: the one list of them (an
 * upstream's id is `extensions.upstream.service`, DESIGN.md, Errors). Everything else about an upstream
 * is in its profile (src/upstream/transport.ts `UpstreamProfile`, built by its client module).
 */
export const UPSTREAM_NAMES = {
  'partner-center': 'Partner Center',
  graph: 'Microsoft Graph',
} as const;

/** An upstream the gateway calls. */
export type UpstreamService = keyof typeof UPSTREAM_NAMES;

/** The contract's error codes (DESIGN.md, Errors). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_ERROR'
  | 'NOT_AVAILABLE_IN_CLOUD';

/** Base of every error the gateway means to show a client. Its message must be safe to show. */
export abstract class GatewayError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra `extensions` entries besides `code`. */
  extensions(): Record<string, unknown> {
    return {};
  }
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
  override extensions(): Record<string, unknown> {
    return this.requiredPermission ? { requiredPermission: this.requiredPermission } : {};
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
  override extensions(): Record<string, unknown> {
    return { field: this.field };
  }
}

/** The operation does not exist in the configured national cloud (UPSTREAM.md §2.4). No call was made. */
export class NotAvailableInCloudError extends GatewayError {
  override readonly name = 'NotAvailableInCloudError';
  readonly code = 'NOT_AVAILABLE_IN_CLOUD' as const;
  constructor(
    readonly operation: string,
    readonly cloud: string,
  ) {
    super(`${operation} is not available in the ${cloud} cloud`);
  }
  override extensions(): Record<string, unknown> {
    return { cloud: this.cloud };
  }
}

/** The caller is over the gateway's own rate limit. */
export class RateLimitedError extends GatewayError {
  override readonly name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED' as const;
  constructor(
    message: string,
    /** Seconds until a retry may succeed. */
    readonly retryAfter: number,
  ) {
    super(message);
  }
  override extensions(): Record<string, unknown> {
    return { retryAfter: this.retryAfter };
  }
}
