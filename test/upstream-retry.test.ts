import { computeRetryDelay, decideRetry, parseRetryAfter, isRetryableStatus, isRetryableErrorCode, retryAfterSeconds } from '../src/upstream/retry.js';
import { CircuitBreaker } from '../src/upstream/circuit-breaker.js';

const NOW = Date.parse('2025-02-13T10:00:00Z');
const base = { now: NOW, random: () => 0.5, baseMs: 100, maxMs: 1000 };

describe('parseRetryAfter', () => {
  it('reads whole seconds', () => expect(parseRetryAfter('3', NOW)).toBe(3000));
  it('reads fractional seconds as Graph sends them', () => expect(parseRetryAfter('2.128', NOW)).toBe(2128));
  it('reads an HTTP-date relative to now', () => expect(parseRetryAfter('Thu, 13 Feb 2025 10:00:07 GMT', NOW)).toBe(7000));
  it('never returns a negative wait for a date in the past', () => expect(parseRetryAfter('Thu, 13 Feb 2025 09:00:00 GMT', NOW)).toBe(0));
  it('takes the first of repeated headers', () => expect(parseRetryAfter(['1', '9'], NOW)).toBe(1000));
  it.each([undefined, '', '  ', '-1', 'soon', '1e3', '0x10'])('ignores %p', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });
});

describe('computeRetryDelay', () => {
  it('honours Retry-After seconds, fractional seconds and dates before any backoff', () => {
    expect(computeRetryDelay({ ...base, attempt: 0, retryAfterHeader: '2' })).toEqual({ delayMs: 2000, fromRetryAfter: true });
    expect(computeRetryDelay({ ...base, attempt: 0, retryAfterHeader: '0.05' })).toEqual({ delayMs: 50, fromRetryAfter: true });
    expect(computeRetryDelay({ ...base, attempt: 0, retryAfterHeader: 'Thu, 13 Feb 2025 10:00:01 GMT' }).delayMs).toBe(1000);
  });

  it('does not cap an explicit Retry-After (the deadline decides)', () => {
    expect(computeRetryDelay({ ...base, attempt: 0, retryAfterHeader: '120' }).delayMs).toBe(120_000);
  });

  it('backs off exponentially with full jitter when Retry-After is missing', () => {
    const at = (attempt: number, r: number) => computeRetryDelay({ ...base, attempt, random: () => r }).delayMs;
    expect(at(0, 0.999)).toBe(99);
    expect(at(1, 0.999)).toBe(199);
    expect(at(2, 0.999)).toBe(399);
    expect(at(2, 0)).toBe(0);
    expect(computeRetryDelay({ ...base, attempt: 0, retryAfterHeader: 'garbage' }).fromRetryAfter).toBe(false);
  });

  it('caps the backoff at maxMs', () => {
    expect(computeRetryDelay({ ...base, attempt: 10, random: () => 0.999 }).delayMs).toBe(999);
    expect(computeRetryDelay({ ...base, attempt: 50, random: () => 0.5 }).delayMs).toBe(500);
  });
});

describe('what is retried', () => {
  it('retries 429, 503, 504 only (docs/upstream.md §3.1)', () => {
    expect([429, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 412, 500, 502].some(isRetryableStatus)).toBe(false);
  });
  it('retries connection failures and try timeouts', () => {
    expect(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].every(isRetryableErrorCode)).toBe(true);
    expect(isRetryableErrorCode('ERR_INVALID_URL')).toBe(false);
    expect(isRetryableErrorCode(undefined)).toBe(false);
  });
});

describe('CircuitBreaker', () => {
  it('opens after 5 consecutive failures, half-opens with one probe, closes on its success', () => {
    let t = 0;
    const breaker = new CircuitBreaker({}, () => t);
    for (let i = 0; i < 4; i++) breaker.failure();
    expect(breaker.acquire()).toEqual({ allowed: true, probe: false });
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.acquire().allowed).toBe(false);
    t = 5000;
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire()).toEqual({ allowed: true, probe: true });
    expect(breaker.acquire().allowed).toBe(false); // one probe at a time
    breaker.success();
    expect(breaker.state).toBe('closed');
  });

  it('a failed probe opens it again; any answer resets the count', () => {
    let t = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 60_000 }, () => t); // clamped to ≥5 and ≤5 s
    for (let i = 0; i < 4; i++) breaker.failure();
    breaker.success();
    for (let i = 0; i < 4; i++) breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    t = 5000;
    expect(breaker.acquire()).toEqual({ allowed: true, probe: true });
    breaker.failure();
    expect(breaker.state).toBe('open');
    t = 9999;
    expect(breaker.acquire().allowed).toBe(false);
  });
});

describe('retryAfterSeconds', () => {
  it('rounds Retry-After up to whole seconds, at least 1', () => {
    expect(retryAfterSeconds(429, '2.128', NOW)).toBe(3);
    expect(retryAfterSeconds(503, '0.01', NOW)).toBe(1);
    expect(retryAfterSeconds(429, 'Thu, 13 Feb 2025 10:01:00 GMT', NOW)).toBe(60);
  });
  it('tells a throttled client to wait a nominal second without Retry-After, nobody else', () => {
    expect(retryAfterSeconds(429, undefined, NOW)).toBe(1);
    expect(retryAfterSeconds(503, undefined, NOW)).toBeUndefined();
  });
});

describe('decideRetry', () => {
  const input = { ...base, attempt: 0, maxRetries: 3, retryAfterHeaders: [undefined], deadlineAt: NOW + 10_000, timeoutMs: 1000 };
  it('stops after maxRetries', () => expect(decideRetry({ ...input, attempt: 3 })).toEqual({ retry: false, why: 'exhausted' }));
  it('waits for the longest Retry-After of the failures it repeats', () => {
    expect(decideRetry({ ...input, retryAfterHeaders: ['1', '2.5', undefined] })).toEqual({ retry: true, delayMs: 2500 });
  });
  it('refuses a wait that leaves no useful try before the deadline', () => {
    expect(decideRetry({ ...input, retryAfterHeaders: ['9.96'] })).toEqual({ retry: false, why: 'past-deadline', delayMs: 9960 });
    expect(decideRetry({ ...input, retryAfterHeaders: ['9.95'] })).toEqual({ retry: true, delayMs: 9950 });
  });
});
