/**
 * Errors of the identity provider side of auth (signing keys, token exchange). The caller-facing ones,
 * `AuthenticationError` and `ForbiddenError`, live in `src/errors.ts`. Messages never contain a token.
 */
import { GatewayError } from '../errors.js';

/** What the identity provider answered, for `extensions.upstream` and the log; never a token. */
export interface IdentityProviderDetails {
  /** The OAuth error (`invalid_client`, ...) or msal's error code (`network_error`, ...). */
  readonly code?: string;
  /** HTTP status, when one was received. */
  readonly status?: number;
  /** Entra ID's correlation id of the failed request, to quote to Microsoft support. */
  readonly correlationId?: string;
}

function upstreamExtension(details: IdentityProviderDetails): Record<string, unknown> {
  return { upstream: { service: 'identity', status: details.status, code: details.code, correlationId: details.correlationId } };
}

/** A failed exchange of the caller's token for an upstream one; carries what the identity provider said. */
abstract class TokenExchangeError extends GatewayError {
  constructor(
    message: string,
    readonly details: IdentityProviderDetails = {},
  ) {
    super(message);
  }
  override extensions(): Record<string, unknown> {
    return upstreamExtension(this.details);
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
