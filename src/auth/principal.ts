/**
 * Who is calling: the gateway's view of a verified bearer token (DESIGN.md, Permissions). Built only by
 * `token-verifier.ts` from a token whose signature, issuer, audience and lifetime were checked.
 */

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
 * Builds the principal from verified claims. Delegated tokens carry `scp` (space separated); app-only
 * tokens carry no `scp` and their permissions in `roles` (DESIGN.md, Permissions). A delegated token may
 * also carry `roles` (app roles assigned to the user); those are not delegated permissions, so only `scp`
 * counts for a delegated caller. `idtyp: "user"` (an optional claim) marks a delegated token even when it
 * has no scopes.
 */
export function principalFromClaims(claims: AccessTokenClaims, token: string): Principal {
  const scp = optionalString(claims.scp);
  const delegated = scp !== undefined || claims.idtyp === 'user';
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
    kind: delegated ? 'delegated' : 'application',
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
