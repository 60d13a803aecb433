import type { SupportProfileResource } from '../../upstream/partner-center.js';
import type { SupportProfile, UpdateSupportProfileInput } from './types.js';

const EDITABLE = ['email', 'telephone', 'website'] as const;

/**
 * The support profile PUT takes the full resource (docs/upstream.md §1.5): start from what was read
 * (keeping `profileType`, `links`, `attributes` and anything unknown), then apply only the fields the
 * caller set. `undefined` means unchanged; `null` clears the field.
 */
export function mergeSupportProfile(current: SupportProfileResource, input: UpdateSupportProfileInput): SupportProfileResource {
  const merged: SupportProfileResource = { ...current };
  for (const field of EDITABLE) {
    const value = input[field];
    if (value !== undefined) merged[field] = value;
  }
  return merged;
}

export function toSupportProfile(resource: SupportProfileResource, partnerTenantId: string): SupportProfile {
  return {
    id: partnerTenantId,
    email: resource.email ?? null,
    telephone: resource.telephone ?? null,
    website: resource.website ?? null,
  };
}
