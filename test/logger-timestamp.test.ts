import { jest } from '@jest/globals';
import { deferredChild, isoTimestamp } from '../src/logger.js';

describe('log line timestamp', () => {
  afterEach(() => jest.useRealTimers());

  it.each([
    '2026-12-02T01:42:50.000Z',
    '2026-12-02T01:42:50.007Z',
    '2026-12-02T01:42:50.042Z',
    '2026-12-02T01:42:50.999Z',
    '2026-12-31T23:59:59.100Z',
    '2028-02-29T00:00:00.001Z',
  ])('writes %s exactly as Date#toISOString does', (iso) => {
    jest.useFakeTimers({ now: new Date(iso) });
    expect(isoTimestamp()).toBe(`,"time":"${iso}"`);
  });

  it('follows the clock across seconds, days and backwards steps', () => {
    jest.useFakeTimers({ now: new Date('2026-12-31T23:59:59.998Z') });
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      seen.push(isoTimestamp());
      jest.advanceTimersByTime(1);
    }
    expect(seen).toEqual(['998', '999'].map((ms) => `,"time":"2026-12-31T23:59:59.${ms}Z"`).concat(['000', '001', '002'].map((ms) => `,"time":"2027-01-01T00:00:00.${ms}Z"`)));
    jest.setSystemTime(new Date('2026-12-31T23:59:58.500Z'));
    expect(isoTimestamp()).toBe(',"time":"2026-12-31T23:59:58.500Z"');
  });
});

describe('deferred request logger', () => {
  it('builds its logger only when something is logged, then reuses it', () => {
    const lines: unknown[] = [];
    const create = jest.fn(() => ({ info: (...args: unknown[]) => lines.push(args), isLevelEnabled: () => true }) as never);
    const log = deferredChild(create);
    expect(typeof log.info).toBe('function');
    expect(create).not.toHaveBeenCalled();
    log.info({ a: 1 }, 'one');
    log.info('two');
    expect(create).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([[{ a: 1 }, 'one'], ['two']]);
  });
});
