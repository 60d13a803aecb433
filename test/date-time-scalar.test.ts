import { DateTimeResolver } from 'graphql-scalars';
import { DateTimeScalar, parseDateTime } from '../src/features/shared/date-time.js';

describe('DateTime scalar', () => {
  it('has the name and description of graphql-scalars DateTime (the schema is unchanged)', () => {
    expect(DateTimeScalar.name).toBe(DateTimeResolver.name);
    expect(DateTimeScalar.description).toBe(DateTimeResolver.description);
  });

  it.each<[unknown]>([
    [new Date('2026-01-02T03:04:05.123Z')],
    ['2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05.5+02:00'],
    ['2024-02-29T23:59:59-08:00'],
    [0],
  ])('writes %p on the wire exactly as graphql-scalars does', (value) => {
    // graphql-scalars may hand back a Date, which the response's JSON turns into the same ISO string.
    expect(JSON.stringify(DateTimeScalar.serialize(value))).toBe(JSON.stringify(DateTimeResolver.serialize(value)));
  });

  it.each(['2026-01-02', 'x', '2026-02-30T00:00:00Z', '2026-01-02T24:00:00Z', '2026-01-02 03:04:05Z', '2026-01-02T03:04:05'])('refuses %s', (value) => {
    expect(parseDateTime(value)).toBeUndefined();
    expect(() => DateTimeScalar.serialize(value)).toThrow('DateTime cannot represent');
    expect(() => DateTimeResolver.serialize(value)).toThrow();
  });
});
