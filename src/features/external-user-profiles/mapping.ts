import { booleanOrNull, dateOrNull, textOrNull } from '../shared/wire-values.js';
import type { ExternalUserProfileResource } from '../../upstream/graph.js';
import type { ExternalUserProfile, PhysicalOfficeAddress, UpdateExternalUserProfileInput } from './types.js';

const ADDRESS_FIELDS = ['city', 'countryOrRegion', 'officeLocation', 'postalCode', 'state', 'street'] as const;

function toAddress(raw: unknown): PhysicalOfficeAddress | null {
  if (!raw || typeof raw !== 'object') return null;
  const source = raw as Record<string, unknown>;
  return Object.fromEntries(ADDRESS_FIELDS.map((f) => [f, textOrNull(source[f])])) as unknown as PhysicalOfficeAddress;
}

/** Graph JSON -> GraphQL. Extra properties (open type, docs/upstream.md §2.1) are ignored. */
export function toExternalUserProfile(resource: ExternalUserProfileResource): ExternalUserProfile {
  return {
    id: resource.id,
    displayName: textOrNull(resource.displayName),
    companyName: textOrNull(resource.companyName),
    department: textOrNull(resource.department),
    jobTitle: textOrNull(resource.jobTitle),
    phoneNumber: textOrNull(resource.phoneNumber),
    address: toAddress(resource.address),
    isDiscoverable: booleanOrNull(resource.isDiscoverable),
    isEnabled: booleanOrNull(resource.isEnabled),
    supervisorId: textOrNull(resource.supervisorId),
    createdBy: textOrNull(resource.createdBy),
    createdDateTime: dateOrNull(resource.createdDateTime),
    deletedDateTime: dateOrNull(resource.deletedDateTime),
  };
}

const PLAIN_FIELDS = ['displayName', 'companyName', 'department', 'jobTitle', 'isDiscoverable', 'isEnabled', 'supervisorId'] as const;

/**
 * The PATCH body: only the updatable keys the caller set. `address` is a complex property: when given
 * it replaces the whole stored address, so every one of its fields is sent (null for those left out).
 */
export function toExternalUserProfilePatch(input: UpdateExternalUserProfileInput): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const field of PLAIN_FIELDS) {
    if (input[field] !== undefined) patch[field] = input[field];
  }
  if (input.address !== undefined) {
    const address = input.address;
    patch.address = address === null ? null : Object.fromEntries(ADDRESS_FIELDS.map((f) => [f, address[f] ?? null]));
  }
  return patch;
}
