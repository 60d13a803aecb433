/**
 * Tolerant readers for upstream JSON values: a value of an unexpected type becomes null instead of
 * failing the whole query (both upstreams are open types that may add or change properties).
 */

export const textOrNull = (raw: unknown): string | null => (typeof raw === 'string' ? raw : null);

export const booleanOrNull = (raw: unknown): boolean | null => (typeof raw === 'boolean' ? raw : null);

/** An ISO date-time string as a Date for the `DateTime` scalar; empty or unparsable → null. */
export function dateOrNull(raw: unknown): Date | null {
  if (typeof raw !== 'string' || raw === '') return null;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? null : date;
}
