import { deriveRequestId, isValidIdempotencyKey, requestIdForWrite, uuidV5 } from '../src/upstream/request-id.js';

const caller = { tenantId: '11111111-1111-1111-1111-111111111111', objectId: '22222222-2222-2222-2222-222222222222' };
const op = 'PATCH /v1/customers/33333333-3333-3333-3333-333333333333/users/44444444-4444-4444-4444-444444444444';
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deriveRequestId', () => {
  it('is a well-formed v5 UUID (RFC 9562 test vector)', () => {
    // RFC 9562 appendix A.4: DNS namespace, "www.example.com".
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op })).toMatch(UUID_V5);
  });

  it('gives the same id for the same key from the same caller (a resent mutation)', () => {
    const a = deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op });
    const b = deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op });
    expect(a).toBe(b);
    expect(deriveRequestId({ ...caller, tenantId: caller.tenantId.toUpperCase(), idempotencyKey: 'k-1', operation: op.toUpperCase() })).toBe(a);
  });

  it('gives another id for another key, another caller, or another write of the same mutation', () => {
    const a = deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op });
    expect(deriveRequestId({ ...caller, idempotencyKey: 'k-2', operation: op })).not.toBe(a);
    expect(deriveRequestId({ ...caller, idempotencyKey: 'K-1', operation: op })).not.toBe(a);
    expect(deriveRequestId({ ...caller, objectId: '55555555-5555-5555-5555-555555555555', idempotencyKey: 'k-1', operation: op })).not.toBe(a);
    expect(deriveRequestId({ ...caller, tenantId: '66666666-6666-6666-6666-666666666666', idempotencyKey: 'k-1', operation: op })).not.toBe(a);
    expect(deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: 'PUT /v1/profiles/supportprofile' })).not.toBe(a);
  });

  it('gives two aliased writes of one path under one key two ids, the same place the same id', () => {
    const a = deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op, place: 'a' });
    expect(deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op, place: 'a' })).toBe(a);
    expect(deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op, place: 'b' })).not.toBe(a);
    expect(deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op })).not.toBe(a);
  });

  it('cannot be forged by moving characters between fields', () => {
    const a = deriveRequestId({ tenantId: 'a', objectId: 'b|c', idempotencyKey: 'k', operation: op });
    const b = deriveRequestId({ tenantId: 'a|b', objectId: 'c', idempotencyKey: 'k', operation: op });
    expect(a).not.toBe(b);
  });
});

describe('requestIdForWrite', () => {
  it('derives with a key and is random without one', () => {
    const idem = { tenantId: caller.tenantId, objectId: caller.objectId, key: 'k-1' };
    expect(requestIdForWrite(idem, op)).toBe(deriveRequestId({ ...caller, idempotencyKey: 'k-1', operation: op }));
    expect(requestIdForWrite(undefined, op)).not.toBe(requestIdForWrite(undefined, op));
  });
});

describe('isValidIdempotencyKey', () => {
  it.each(['a', 'x'.repeat(255), 'order 42 / retry', '~!@#$%^&*()'])('accepts %p', (key) => expect(isValidIdempotencyKey(key)).toBe(true));
  it.each(['', ' ', 'x'.repeat(256), 'tab\there', 'line\nbreak', 'é', '\u0000', 42, undefined])('refuses %p', (key) =>
    expect(isValidIdempotencyKey(key)).toBe(false),
  );
});
