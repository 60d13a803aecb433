/**
 * Which Graph properties a GraphQL selection of `ExternalUserProfile` needs: sent as `$select`, so Graph
 * answers only those (smaller answers, less serialization on both sides). This is GraphQL knowledge, so it
 * lives here; the Graph client takes a plain list of property names and knows nothing of GraphQL.
 *
 * Rules:
 * - each GraphQL field reads one Graph property (`PROPERTY_OF_FIELD`); a field of an object type (`address
 *   { city }`) reads its parent property as a whole (`address`): Graph selects complex properties whole;
 * - fragments (named and inline) are followed; `@skip`/`@include` are ignored, so a skipped field is still
 *   asked for (a few bytes more, never a field missing);
 * - aliases do not matter: two aliases of one field read one property;
 * - fields without a property (`__typename`) read none; `id` is always asked for by the client.
 */
import { Kind } from 'graphql';
import type { FieldNode, FragmentDefinitionNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import type { ExternalUserProfile } from './types.js';

/**
 * GraphQL field of `ExternalUserProfile` -> the Graph property it is resolved from (mapping.ts). Typed as a
 * record over the type's keys: a field added to `ExternalUserProfile` without its property here does not
 * compile, and test/external-user-profiles-select.test.ts checks every field of the schema against Graph.
 */
export const PROPERTY_OF_FIELD: Readonly<Record<keyof ExternalUserProfile, string>> = {
  id: 'id',
  displayName: 'displayName',
  companyName: 'companyName',
  department: 'department',
  jobTitle: 'jobTitle',
  phoneNumber: 'phoneNumber',
  address: 'address',
  isDiscoverable: 'isDiscoverable',
  isEnabled: 'isEnabled',
  supervisorId: 'supervisorId',
  createdBy: 'createdBy',
  createdDateTime: 'createdDateTime',
  deletedDateTime: 'deletedDateTime',
};

/** The properties in `PROPERTY_OF_FIELD`'s order: a selection always yields them in this order (stable URLs). */
const PROPERTY_ORDER: readonly string[] = [...new Set(Object.values(PROPERTY_OF_FIELD))];

const propertyOf = (field: string): string | undefined =>
  Object.hasOwn(PROPERTY_OF_FIELD, field) ? PROPERTY_OF_FIELD[field as keyof ExternalUserProfile] : undefined;

/** The Graph properties the given field names read, in canonical order, `id` first. */
export function propertiesForFields(fields: Iterable<string>): string[] {
  const wanted = new Set<string>(['id']);
  for (const field of fields) {
    const property = propertyOf(field);
    if (property !== undefined) wanted.add(property);
  }
  return PROPERTY_ORDER.filter((p) => wanted.has(p));
}

/**
 * The Graph properties the resolver's selection needs, where the profile is the field's own type
 * (`externalUserProfile`, `updateExternalUserProfile`) or sits under `path` inside it (`['nodes']` for
 * `externalUserProfiles`).
 */
export function selectedProperties(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[] = []): string[] {
  let sets: SelectionSetNode[] = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const step of path) {
    sets = sets.flatMap((set) => fieldsOf(set, info.fragments).filter((f) => f.name.value === step && f.selectionSet).map((f) => f.selectionSet!));
  }
  return propertiesForFields(sets.flatMap((set) => fieldsOf(set, info.fragments).map((f) => f.name.value)));
}

/** The fields of a selection set, fragments followed (each named fragment once). */
function fieldsOf(set: SelectionSetNode, fragments: Readonly<Record<string, FragmentDefinitionNode>>, seen = new Set<string>()): FieldNode[] {
  const out: FieldNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) out.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) out.push(...fieldsOf(selection.selectionSet, fragments, seen));
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments[selection.name.value];
      if (fragment) out.push(...fieldsOf(fragment.selectionSet, fragments, seen));
    }
  }
  return out;
}
