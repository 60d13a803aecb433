/**
 * Partner Center wire format <-> GraphQL. Enums travel lower snake_case on the wire (docs/upstream.md §1.4);
 * an enum value this gateway does not know maps to null with a warning instead of failing the query.
 */
import { dateOrNull, textOrNull } from '../shared/wire-values.js';
import type { Logger } from '../../logger.js';
import type { CustomerUserResource } from '../../upstream/partner-center.js';
import { CustomerUser, CustomerUserState, UpdateCustomerUserInput, UserDomainType } from './types.js';

function enumValue<E extends Record<string, string>>(
  enumObject: E,
  raw: unknown,
  field: string,
  log: Pick<Logger, 'warn'>,
): E[keyof E] | null {
  if (raw === null || raw === undefined) return null;
  const wire = String(raw).toLowerCase();
  const known = (Object.values(enumObject) as string[]).includes(wire);
  if (!known) log.warn({ field, value: raw }, 'unknown enum value from Partner Center mapped to null');
  return known ? (wire as E[keyof E]) : null;
}

export function toCustomerUser(resource: CustomerUserResource, customerId: string, log: Pick<Logger, 'warn'>): CustomerUser {
  return {
    id: resource.id,
    customerId,
    userPrincipalName: textOrNull(resource.userPrincipalName),
    firstName: textOrNull(resource.firstName),
    lastName: textOrNull(resource.lastName),
    displayName: textOrNull(resource.displayName),
    phoneNumber: textOrNull(resource.phoneNumber),
    usageLocation: textOrNull(resource.usageLocation),
    immutableId: textOrNull(resource.immutableId),
    state: enumValue(CustomerUserState, resource.state, 'state', log),
    userDomainType: enumValue(UserDomainType, resource.userDomainType, 'userDomainType', log),
    lastDirectorySyncTime: dateOrNull(resource.lastDirectorySyncTime),
    softDeletionTime: dateOrNull(resource.softDeletionTime),
  };
}

const PLAIN_FIELDS = ['userPrincipalName', 'firstName', 'lastName', 'displayName', 'phoneNumber', 'usageLocation'] as const;

/**
 * The PATCH body: only the keys the caller set (docs/upstream.md §1.6 shows partial bodies), in Partner
 * Center's camelCase; explicit nulls are sent as null. The enum values already are the wire values.
 */
export function toCustomerUserPatch(input: UpdateCustomerUserInput): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const field of PLAIN_FIELDS) {
    const value = input[field];
    if (value !== undefined) patch[field] = field === 'usageLocation' && value ? value.toUpperCase() : value;
  }
  if (input.state !== undefined) patch.state = input.state;
  if (input.passwordProfile !== undefined) {
    patch.passwordProfile =
      input.passwordProfile === null
        ? null
        : { password: input.passwordProfile.password, forceChangePassword: input.passwordProfile.forceChangePassword ?? true };
  }
  return patch;
}
