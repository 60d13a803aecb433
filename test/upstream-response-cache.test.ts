import { ResponseCache, entryBytes, type CachedAnswer } from '../src/upstream/response-cache.js';

const answer = (text: string, version = 'v1'): CachedAnswer => ({ status: 200, requestId: 'r', text, version });

describe('ResponseCache', () => {
  it('serves an answer for its TTL, then forgets it (injected clock)', () => {
    let now = 1_000;
    const cache = new ResponseCache({ ttlMs: 30_000, now: () => now });
    cache.set('k', answer('{"a":1}'));
    now += 30_000;
    expect(cache.get('k')?.text).toBe('{"a":1}');
    now += 1;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('keeps the bytes it counts under maxBytes by evicting the least recently used entries', () => {
    const text = 'x'.repeat(1000);
    const one = entryBytes('key-00', answer(text));
    const cache = new ResponseCache({ ttlMs: 60_000, maxBytes: one * 10 });
    for (let i = 0; i < 10; i++) cache.set(`key-${String(i).padStart(2, '0')}`, answer(text));
    expect(cache.size).toBe(10);
    // key-00 used again: key-01 is now the least recently used.
    expect(cache.get('key-00')).toBeDefined();
    cache.set('key-10', answer(text));
    expect(cache.get('key-01')).toBeUndefined();
    expect(cache.get('key-00')).toBeDefined();
    for (let i = 11; i < 500; i++) cache.set(`key-${i}`, answer(text));
    expect(cache.size).toBeGreaterThanOrEqual(9);
    expect(cache.bytes).toBeLessThanOrEqual(one * 10);
  });

  it('does not keep an answer bigger than the whole cache', () => {
    const cache = new ResponseCache({ ttlMs: 60_000, maxBytes: 1000 });
    cache.set('small', answer('{}'));
    cache.set('big', answer('x'.repeat(1000)));
    expect(cache.get('big')).toBeUndefined();
    expect(cache.get('small')).toBeDefined();
  });

  it('counts keys, texts and versions at two bytes a character plus a fixed overhead', () => {
    expect(entryBytes('abc', { status: 200, text: '12345', version: 'v' })).toBe(2 * 9 + 96);
  });
});
