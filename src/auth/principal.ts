/**
 * Who is calling: the gateway's view of a verified bearer token (docs/permissions.md and "Tokens
 * accepted"). Built only by `token-verifier.ts` from a token whose signature, issuer, audience and
 * lifetime were checked; this module decides what kind of token it is, or refuses it.
 */
import { AuthenticationError } from '../errors.js';

/** `delegated`: a user signed in to a client app (App+User, `scp`); `application`: app-only (`roles`). */
export type PrincipalKind = 'delegated' | 'application';

/** Entra ID's tenant id for personal Microsoft accounts (outlook.com, hotmail.com, ...). */
export const PERSONAL_ACCOUNT_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** A verified caller. Immutable; one instance may be shared by all requests bearing the same token. */
export interface Principal {
  /** The caller's tenant (`tid`). */
  readonly tenantId: string;
  /** The caller's object id in that tenant (`oid`): the user, or the client app's service principal. */
  readonly objectId: string;
  /** Display name (`name`), when the token carries one. */
  readonly name?: string;
  /** Sign-in name (`preferred_username`, else `upn`/`unique_name`), when the token carries one. */
  readonly username?: string;
  readonly kind: PrincipalKind;
  /** What the caller holds (`scp` for delegated, `roles` for application), implied `Read`s included. */
  readonly permissions: ReadonlySet<string>;
  /** True for a personal Microsoft account (`tid` = {@link PERSONAL_ACCOUNT_TENANT_ID}). */
  readonly personalAccount: boolean;
  /**
   * The raw bearer token, only for the upstream token exchange (`upstream-tokens.ts`); never exposed.
   * It is a non-enumerable property, so `JSON.stringify`, spreading and pino never see it.
   */
  readonly token: string;
  /** When the token expires (`exp`), in epoch milliseconds. */
  readonly expiresAt: number;
}

/**
 * Adds the permissions a granted one implies: `X.ReadWrite` implies `X.Read`, and `X.ReadWrite.All`
 * implies `X.Read.All` (any suffix after `ReadWrite` is kept, as in Graph's naming). Entra ID does not
 * put the implied ones in the token, so without this a caller holding `ReadWrite` could not read.
 */
export function expandPermissions(list: Iterable<string>): ReadonlySet<string> {
  const result = new Set<string>();
  for (const permission of list) {
    if (!permission) continue;
    result.add(permission);
    const match = /^(.+)\.ReadWrite((?:\.[^.]+)*)$/.exec(permission);
    if (match) result.add(`${match[1]}.Read${match[2]}`);
  }
  return result;
}

/** True when `tenantId` is the personal Microsoft account tenant (GUIDs compare case-insensitively). */
export function isPersonalAccountTenant(tenantId: string): boolean {
  return tenantId.toLowerCase() === PERSONAL_ACCOUNT_TENANT_ID;
}

/** The claims of an Entra ID access token that the principal is built from. */
export interface AccessTokenClaims {
  readonly tid: string;
  readonly oid: string;
  readonly exp: number;
  readonly sub?: unknown;
  /** `1.0` or `2.0`: the token format. */
  readonly ver?: unknown;
  /** The client app, in v2 tokens. */
  readonly azp?: unknown;
  /** The client app, in v1 tokens. */
  readonly appid?: unknown;
  /** Only in ID tokens (OpenID Connect replay protection), never in access tokens. */
  readonly nonce?: unknown;
  readonly scp?: unknown;
  readonly roles?: unknown;
  readonly idtyp?: unknown;
  readonly name?: unknown;
  readonly preferred_username?: unknown;
  readonly upn?: unknown;
  readonly unique_name?: unknown;
}

const optionalString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * What kind of token the claims are, or `AuthenticationError` (README, Security: tokens and configuration rules).
 *
 * Why so strict: with `AUTH_AUDIENCE` equal to the gateway's client id, an ID token issued to the gateway's
 * own sign-in has the right issuer, audience and signature, and app roles can be assigned to users, so a
 * user's ID token can carry `roles` and no `scp`. Taken for app-only it would run with the gateway's own
 * client credentials. So:
 * - only access tokens: a v2 token names its client app in `azp`, a v1 token in `appid` (without `ver`,
 *   either will do); a token with `nonce` is an ID token;
 * - app-only when `idtyp` is `app` (an optional claim the app registration may turn on), or, without
 *   `idtyp`, when it has `roles`, no `scp`, and `oid` equal to `sub` (Entra sets a service principal's
 *   `sub` to its object id; a user's `sub` is pairwise per app and never equals `oid`);
 * - delegated when it has `scp`; anything else is refused, and so is an `scp` that is present but empty
 *   (or blank) or not a string.
 */
export function tokenKind(claims: AccessTokenClaims): PrincipalKind {
  if (claims.nonce !== undefined) throw new AuthenticationError('the token is an ID token; send an access token');
  const azp = optionalString(claims.azp);
  const appid = optionalString(claims.appid);
  const clientNamed = claims.ver === '2.0' ? azp : claims.ver === '1.0' ? appid : claims.ver === undefined ? (azp ?? appid) : undefined;
  if (clientNamed === undefined) throw new AuthenticationError('the token is not an access token (no client app claim for its version)');
  // An `scp` that is there but grants nothing ("", " ", a number, a list) is no absence of `scp`: taken
  // for one, a user token with `roles` and `oid` equal to `sub` would pass for app-only.
  if (claims.scp !== undefined && (typeof claims.scp !== 'string' || claims.scp.trim() === '')) {
    throw new AuthenticationError('the token carries an scp claim that is empty or not a string');
  }
  const scp = optionalString(claims.scp);
  if (claims.idtyp === 'app') {
    if (scp !== undefined) throw new AuthenticationError('the token claims to be app-only and delegated at once');
    return 'application';
  }
  if (scp !== undefined) return 'delegated';
  const hasRoles = Array.isArray(claims.roles) && claims.roles.length > 0;
  if (claims.idtyp === undefined && hasRoles && typeof claims.sub === 'string' && claims.sub === claims.oid) return 'application';
  throw new AuthenticationError('the token is neither a delegated (scp) nor an app-only access token');
}

/**
 * Builds the principal from verified claims, refusing tokens of the wrong kind ({@link tokenKind}).
 * Delegated tokens carry `scp` (space separated); app-only tokens carry no `scp` and their permissions in
 * `roles` (docs/permissions.md). A delegated token may also carry `roles` (app roles assigned to the
 * user); those are not delegated permissions, so only `scp` counts for a delegated caller.
 */
export function principalFromClaims(claims: AccessTokenClaims, token: string): Principal {
  const scp = optionalString(claims.scp);
  const kind = tokenKind(claims);
  const delegated = kind === 'delegated';
  const granted = delegated
    ? (scp ?? '').split(' ')
    : Array.isArray(claims.roles)
      ? claims.roles.filter((r): r is string => typeof r === 'string')
      : [];
  const principal = {
    tenantId: claims.tid,
    objectId: claims.oid,
    name: optionalString(claims.name),
    username: optionalString(claims.preferred_username) ?? optionalString(claims.upn) ?? optionalString(claims.unique_name),
    kind,
    permissions: expandPermissions(granted),
    personalAccount: isPersonalAccountTenant(claims.tid),
    expiresAt: claims.exp * 1000,
  } as Omit<Principal, 'token'> & { token: string };
  // Non-enumerable, so logging or serialising a principal can never leak the bearer token.
  Object.defineProperty(principal, 'token', { value: token, enumerable: false, writable: false, configurable: false });
  if (principal.name === undefined) delete (principal as { name?: string }).name;
  if (principal.username === undefined) delete (principal as { username?: string }).username;
  return Object.freeze(principal);
}
