/**
 * The contract's permission table (docs/permissions.md), as data: one entry per Query and Mutation
 * field. `requirePermission` is the only place that reads it; the auth checker calls it for every
 * `@Authorized()` field, the permission net (`enforcePermissionsOnRootFields`) for every root field
 * whatever its decorators, and `findFieldsWithoutPermission` makes a test fail when a root field has no
 * entry, so no resolver can exist without one.
 */
import { AuthenticationError, ForbiddenError } from '../errors.js';
import type { Principal } from './principal.js';

/** Who may call an operation. Partner Center accepts App+User tokens only (docs/upstream.md §1.2). */
export type AllowedPrincipals = 'delegated' | 'delegated-or-application';

/** One row of the table. */
export type OperationPermission =
  | {
      /** Needs no token (e.g. `viewer`, which answers `authenticated: false` without one). */
      readonly public: true;
    }
  | {
      readonly public?: false;
      /** The permission the caller must hold (implied `Read`s count, see `expandPermissions`). */
      readonly permission: string;
      readonly principals: AllowedPrincipals;
      /**
       * Whether personal Microsoft accounts may call it. Graph's externalUserProfile does not support them
       * (docs/upstream.md §2.3); Partner Center's App+User model needs a work account in the partner's tenant
       * (§1.2), so a personal account can never succeed there either: refusing here gives a clear
       * `FORBIDDEN` instead of an upstream round trip.
       */
      readonly personalAccounts: boolean;
    };

/** The table, keyed by Query/Mutation field name. Field names are unique across Query and Mutation. */
export const OPERATION_PERMISSIONS: Readonly<Record<string, OperationPermission>> = Object.freeze({
  viewer: { public: true },

  // Partner Center (App+User only).
  supportProfile: { permission: 'SupportProfile.Read', principals: 'delegated', personalAccounts: false },
  updateSupportProfile: { permission: 'SupportProfile.ReadWrite', principals: 'delegated', personalAccounts: false },
  customerUser: { permission: 'CustomerUser.Read.All', principals: 'delegated', personalAccounts: false },
  customerUsers: { permission: 'CustomerUser.Read.All', principals: 'delegated', personalAccounts: false },
  updateCustomerUser: { permission: 'CustomerUser.ReadWrite.All', principals: 'delegated', personalAccounts: false },

  // Microsoft Graph beta (delegated or application; no personal accounts).
  externalUserProfile: { permission: 'ExternalUserProfile.Read.All', principals: 'delegated-or-application', personalAccounts: false },
  externalUserProfiles: { permission: 'ExternalUserProfile.Read.All', principals: 'delegated-or-application', personalAccounts: false },
  updateExternalUserProfile: {
    permission: 'ExternalUserProfile.ReadWrite.All',
    principals: 'delegated-or-application',
    personalAccounts: false,
  },
} satisfies Record<string, OperationPermission>);

/**
 * What `viewer.permissions` lists (docs/permissions.md: what the caller holds and can use): the permissions it holds
 * (implied `Read`s included) that at least one operation of the table accepts from this kind of caller.
 * A personal account holds none it can use (every operation refuses it); an app-only caller's
 * Partner Center roles are of no use either (Partner Center is App+User only).
 */
export function usablePermissions(principal: Principal): string[] {
  const usable = new Set<string>();
  for (const entry of Object.values(OPERATION_PERMISSIONS)) {
    if (entry.public || !principal.permissions.has(entry.permission)) continue;
    if (principal.personalAccount && !entry.personalAccounts) continue;
    if (principal.kind === 'application' && entry.principals === 'delegated') continue;
    usable.add(entry.permission);
  }
  return [...usable].sort();
}

/**
 * Throws unless `principal` may run `operation` (a Query/Mutation field name):
 * - `AuthenticationError` when there is no principal and the operation is not public;
 * - `ForbiddenError` naming the permission for a personal account where those are refused, an app-only
 *   caller on an App+User-only operation, or a missing permission;
 * - a plain `Error` for an operation missing from the table: a programming error, masked as
 *   `INTERNAL_SERVER_ERROR`, so a new resolver without an entry fails closed.
 */
export function requirePermission(principal: Principal | null, operation: string): void {
  const entry = Object.hasOwn(OPERATION_PERMISSIONS, operation) ? OPERATION_PERMISSIONS[operation] : undefined;
  if (!entry) throw new Error(`no permission entry for operation "${operation}" in OPERATION_PERMISSIONS`);
  if (entry.public) return;
  const { permission } = entry;
  if (!principal) throw new AuthenticationError(`${operation} requires authentication: send a bearer token with ${permission}`);
  if (principal.personalAccount && !entry.personalAccounts) {
    throw new ForbiddenError(`${operation} is not available to personal Microsoft accounts; it needs a work or school account with ${permission}`, permission);
  }
  if (principal.kind === 'application' && entry.principals === 'delegated') {
    throw new ForbiddenError(`${operation} needs a signed-in user (App+User) with ${permission}; app-only tokens are not accepted`, permission);
  }
  if (!principal.permissions.has(permission)) {
    throw new ForbiddenError(`${operation} needs the ${permission} permission`, permission);
  }
}
