import { BadUserInputError } from './errors.js';

/** GUIDs as Entra ID and both upstreams write them (8-4-4-4-12 hex digits, any case). */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** Throws `BadUserInputError(field)` unless `value` is a GUID (Partner Center tenant and user ids are). */
export function assertGuid(field: string, value: unknown): asserts value is string {
  if (!isGuid(value)) throw new BadUserInputError(field, 'must be a GUID');
}
