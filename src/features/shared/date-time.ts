/**
 * The `DateTime` scalar: the same name, description and wire format as graphql-scalars' `DateTimeResolver`
 * (an RFC 3339 `date-time`, written at UTC with milliseconds: `2007-12-03T10:15:30.000Z`), defined here
 * because importing graphql-scalars loads its ~60 scalars and added about 16 MB to the gateway's resident
 * size for this one. Outputs come from `dateOrNull` (wire-values.ts) as `Date`s; strings and epoch
 * milliseconds are accepted too, as graphql-scalars does.
 */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/** RFC 3339 §5.6 `date-time`: full date, `T` (or `t`), time with optional fraction, `Z` or an offset. */
const RFC3339_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A `Date` for an RFC 3339 date-time string, or undefined when it is not one (shape, or impossible date). */
export function parseDateTime(value: string): Date | undefined {
  const m = RFC3339_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second] = m.map(Number) as number[];
  // Date.UTC rolls 2026-02-30 over to March: compare the fields back to refuse impossible dates.
  const probe = new Date(Date.UTC(year!, month! - 1, day!));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month! - 1 || probe.getUTCDate() !== day) return undefined;
  if (hour! > 23 || minute! > 59 || second! > 60) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function toDate(value: unknown, what: string): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value === 'string') {
    const date = parseDateTime(value);
    if (date) return date;
  }
  throw new GraphQLError(`DateTime cannot represent ${what}`);
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description:
    'A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant with the `date-time` format outlined in section 5.6 of the RFC 3339 profile of the ISO 8601 standard for representation of dates and times using the Gregorian calendar.',
  serialize: (value) => toDate(value, 'a value that is not a date-time').toISOString(),
  parseValue: (value) => toDate(typeof value === 'string' ? value : undefined, 'a value that is not an RFC 3339 date-time string'),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime cannot represent a non-string literal', { nodes: ast });
    return toDate(ast.value, 'a string that is not an RFC 3339 date-time');
  },
  extensions: { codegenScalarType: 'Date | string', jsonSchema: { type: 'string', format: 'date-time' } },
});
