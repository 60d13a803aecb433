import { createHmac } from 'node:crypto';
import { parseGraphErrorBody, parsePartnerCenterErrorBody, upstreamErrorFromResponse } from '../src/upstream/error-dialect.js';
import { PARTNER_CENTER } from '../src/upstream/partner-center.js';
import { GRAPH } from '../src/upstream/graph.js';
import { GatewayError, BadUserInputError, InvalidCursorError, UpstreamError, contractCodeForStatus, sanitizeMessage } from '../src/errors.js';
import { createCursorCodec, deriveCursorKey } from '../src/upstream/cursor.js';

const correlationId = '0f8fad5b-d9cb-469f-a165-70867728950e';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('contractCodeForStatus', () => {
  it.each([
    [0, 'UPSTREAM_UNAVAILABLE'],
    [400, 'UPSTREAM_ERROR'],
    [401, 'UPSTREAM_ERROR'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [405, 'UPSTREAM_ERROR'],
    [408, 'UPSTREAM_UNAVAILABLE'],
    [409, 'CONFLICT'],
    [412, 'CONFLICT'],
    [424, 'UPSTREAM_ERROR'],
    [429, 'RATE_LIMITED'],
    [500, 'UPSTREAM_UNAVAILABLE'],
    [502, 'UPSTREAM_UNAVAILABLE'],
    [503, 'UPSTREAM_UNAVAILABLE'],
    [504, 'UPSTREAM_UNAVAILABLE'],
    [200, 'UPSTREAM_ERROR'],
  ])('%i → %s', (status, code) => expect(contractCodeForStatus(status)).toBe(code));
});

describe('Partner Center error bodies', () => {
  it('reads the API fault with a numeric code', () => {
    const err = upstreamErrorFromResponse({
      upstream: PARTNER_CENTER,
      status: 403,
      headers: { 'ms-requestid': 'pc-req-1' },
      body: JSON.stringify({ code: 900150, description: 'Role lacks rights', data: [], source: 'PartnerFD' }),
      correlationId,
    });
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'FORBIDDEN', status: 403, upstreamCode: '900150', message: 'Role lacks rights', requestId: 'pc-req-1' });
    expect(err.extensions()).toEqual({
      upstream: { service: 'partner-center', status: 403, code: '900150', requestId: 'pc-req-1', correlationId },
    });
  });

  it('reads a string code too', () => {
    expect(parsePartnerCenterErrorBody('{"code":"3000","description":"Invalid property"}')).toEqual({ upstreamCode: '3000', message: 'Invalid property' });
  });

  it('reads the throttling gateway shape and carries retryAfter', () => {
    const err = upstreamErrorFromResponse({
      upstream: PARTNER_CENTER,
      status: 429,
      body: '{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds." }',
      correlationId,
      retryAfter: 57,
    });
    expect(err).toMatchObject({ code: 'RATE_LIMITED', upstreamCode: '429', message: 'Rate limit is exceeded. Try again in 57 seconds.' });
    expect(err.extensions().retryAfter).toBe(57);
  });
});

describe('Graph error bodies', () => {
  it('reads code, message and the request id from innerError', () => {
    const body = { error: { code: 'Request_ResourceNotFound', message: 'Not found', innerError: { 'request-id': 'g-1', date: 'x', 'client-request-id': correlationId } } };
    expect(parseGraphErrorBody(body)).toEqual({ upstreamCode: 'Request_ResourceNotFound', message: 'Not found', requestId: 'g-1' });
    const err = upstreamErrorFromResponse({ upstream: GRAPH, status: 404, body: JSON.stringify(body), correlationId });
    expect(err).toMatchObject({ code: 'NOT_FOUND', requestId: 'g-1', upstreamCode: 'Request_ResourceNotFound' });
  });

  it('prefers the request-id header and tolerates nested or lower-case innererror', () => {
    const body = { error: { code: 'TooManyRequests', message: 'Please retry again later.', innererror: { innerError: { 'request-id': 'deep' } } } };
    expect(parseGraphErrorBody(body).requestId).toBe('deep');
    const err = upstreamErrorFromResponse({ upstream: GRAPH, status: 429, headers: { 'request-id': 'hdr' }, body, correlationId });
    expect(err.requestId).toBe('hdr');
  });
});

describe('bodies that are not what we expect', () => {
  it.each([
    ['empty', ''],
    ['HTML', '<html><body>502 Bad Gateway</body></html>'],
    ['truncated JSON', '{"code": 3000, "descr'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"oops"'],
    ['a Buffer', Buffer.from('nope')],
    ['nothing', undefined],
  ])('maps %s cleanly with a message from the status', (_name, body) => {
    for (const upstream of [PARTNER_CENTER, GRAPH]) {
      const err = upstreamErrorFromResponse({ upstream, status: 502, body, correlationId });
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(err.message).toMatch(/answered 502 Bad Gateway$/);
      expect(err.upstreamCode).toBeUndefined();
    }
  });

  it('names a connection failure', () => {
    const err = new UpstreamError({ service: 'graph', serviceName: 'Microsoft Graph', status: 0, message: '', correlationId });
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'Microsoft Graph did not answer' });
  });
});

describe('messages never carry credentials', () => {
  it('strips bearer tokens, JWTs and passwords', () => {
    const text = `Token Bearer abc.def rejected; raw ${JWT}; {"password":"hunter2","user":"x"} password=secret`;
    const clean = sanitizeMessage(text);
    expect(clean).not.toMatch(/abc\.def|eyJ|hunter2|secret/);
    expect(clean).toContain('Bearer [redacted]');
  });

  it('applies to upstream descriptions', () => {
    const err = upstreamErrorFromResponse({
      upstream: PARTNER_CENTER,
      status: 400,
      body: JSON.stringify({ code: 1, description: `Bad token ${JWT} in Authorization: Bearer ${JWT}` }),
      correlationId,
    });
    expect(err.message).not.toContain('eyJ');
  });
});

describe('production messages are written by the gateway', () => {
  it('by the upstream code where known, else by status; the description is kept apart for the log', () => {
    const pc = upstreamErrorFromResponse({
      upstream: PARTNER_CENTER,
      status: 403,
      body: { code: 20002, description: 'No relationship with Contoso (internal: RelationshipStore.Lookup)' },
      correlationId,
    });
    expect(pc.productionMessage()).toBe('The partner has no relationship with this customer in Partner Center');
    expect(pc.upstreamMessage).toBe('No relationship with Contoso (internal: RelationshipStore.Lookup)');
    const graph = upstreamErrorFromResponse({ upstream: GRAPH, status: 403, body: { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges for x@contoso.com' } }, correlationId });
    expect(graph.productionMessage()).toBe('Microsoft Graph denied the operation: insufficient privileges');
    const unknown = upstreamErrorFromResponse({ upstream: GRAPH, status: 400, body: { error: { code: 'Weird_Code', message: 'leaks' } }, correlationId });
    expect(unknown.productionMessage()).toBe('Microsoft Graph answered 400 Bad Request');
    // Messages the gateway wrote itself are the production message too.
    expect(new UpstreamError({ service: 'graph', serviceName: 'Microsoft Graph', status: 0, message: 'Microsoft Graph did not answer: timed out', correlationId }).productionMessage()).toBe(
      'Microsoft Graph did not answer: timed out',
    );
  });
});

describe('cursors', () => {
  const codec = createCursorCodec('kind-a', 'k1');
  const QUERY = '?$top=5&$skiptoken=RFNwdAIAAQAAAAAAAB8AAAAAAQAAAAAAAAA';
  /** A cursor as the gateway made it before the encrypted format: base64url JSON, a dot, an HMAC-SHA256 tag. */
  const hmacCursor = (key: string, kind: string, payload: unknown) => {
    const data = Buffer.from(JSON.stringify({ k: kind, p: payload })).toString('base64url');
    return `${data}.${createHmac('sha256', key).update(`${kind}\n${data}`).digest('base64url')}`;
  };

  it('round-trips its fields, bound to the same binding', () => {
    const fields = [QUERY, '', 'tok-ü-2', 'X-Other', ''];
    expect(codec.decode(codec.encode(fields, 'customer-1'), 'customer-1')).toEqual(fields);
    expect(codec.decode(codec.encode([]))).toEqual([]);
    expect(codec.decode(codec.encode(['']))).toEqual(['']);
    const long = 'x'.repeat(20_000 / 2);
    expect(codec.decode(codec.encode([long]))).toEqual([long]);
  });

  it('round-trips any text exactly, base64url runs (carried as bytes) or not', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=%&?+/ ü€';
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = ['AAAAAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAB', 'eyJrIjoiYSJ9.c2ln', 'a'.repeat(17), 'a'.repeat(16) + '.' + 'b'.repeat(33)];
    for (let i = 0; i < 300; i++) {
      const length = Math.floor(random() * 120);
      let text = '';
      // Long runs of the base64url alphabet now and then, as continuation tokens have.
      const base64ish = random() < 0.5;
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * (base64ish ? 64 : alphabet.length))];
      samples.push(text);
    }
    for (const text of samples) expect(codec.decode(codec.encode([text, text.slice(3)]))).toEqual([text, text.slice(3)]);
  });

  it('is opaque: neither the continuation nor any URL can be read from it, and two cursors of one page differ', () => {
    const cursor = codec.encode(['?$top=5&$skiptoken=abc', 'https://graph.microsoft.com/beta/x']);
    const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
    for (const text of ['skiptoken', 'abc', 'graph', 'http']) {
      expect(cursor).not.toContain(text);
      expect(decoded).not.toContain(text);
    }
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.encode(['same'])).not.toBe(codec.encode(['same']));
  });

  it('is as short as its content allows: about 40 characters over the continuation, a base64url token carried as its bytes', () => {
    const token = `${Buffer.alloc(150, 7).toString('base64url')}.${'c'.repeat(43)}`; // 200 characters, as seal-style tokens look
    const cursor = codec.encode([QUERY, '', token]);
    const asText = Math.ceil(((Buffer.byteLength(QUERY) + token.length + 3 + 29) * 4) / 3); // each field as UTF-8 with a length byte
    expect(cursor.length).toBeLessThan(asText - 45);
    // The token costs about its own length (3 bytes as 4 characters), and the rest is the fixed 39 or so.
    expect(cursor.length).toBeLessThanOrEqual(token.length + Math.ceil((QUERY.length * 4) / 3) + 45);
    expect(codec.encode([]).length).toBe(39);
  });

  it.each([
    ['a flipped byte in the ciphertext', (c: string) => flip(c, 20)],
    ['a flipped byte in the tag', (c: string) => flip(c, c.length - 2)],
    ['a flipped nonce byte', (c: string) => flip(c, 3)],
    ['another version byte', (c: string) => Buffer.concat([Buffer.of(1), Buffer.from(c, 'base64url').subarray(1)]).toString('base64url')],
    ['a truncated cursor', (c: string) => c.slice(0, -4)],
    ['the tag alone', (c: string) => c.slice(-22)],
    ['an appended character', (c: string) => `${c}x`],
    ['the old signed-JSON format, with a valid tag under the same secret', () => hmacCursor('k1', 'kind-a', { n: 'https://graph.microsoft.com/beta/x' })],
    ['garbage', () => 'not a cursor'],
    ['empty', () => ''],
    ['huge', () => 'a'.repeat(20_000)],
  ])('refuses %s with InvalidCursorError, which names no GraphQL argument', (_name, mutate) => {
    const c = mutate(codec.encode(['?$skiptoken=x']));
    expect(() => codec.decode(c)).toThrow(InvalidCursorError);
    try {
      codec.decode(c);
    } catch (e) {
      expect(e).not.toHaveProperty('field');
    }
  });

  it('refuses any other spelling of a cursor: a character appended or the last one changed, whatever its length', () => {
    for (let length = 0; length < 8; length++) {
      const c = codec.encode(['x'.repeat(length)]);
      const last = c.at(-1)!;
      const changed = `${c.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
      for (const other of [`${c}x`, `${c}A`, changed, `${c}=`]) expect(() => codec.decode(other)).toThrow(InvalidCursorError);
      expect(codec.decode(c)).toEqual(['x'.repeat(length)]);
    }
  });

  it('refuses a cursor of another kind, another key or another binding', () => {
    const c = codec.encode(['x'], 'customer-1');
    expect(() => createCursorCodec('kind-b', 'k1').decode(c, 'customer-1')).toThrow(InvalidCursorError);
    expect(() => createCursorCodec('kind-a', 'k2').decode(c, 'customer-1')).toThrow(InvalidCursorError);
    expect(() => codec.decode(c, 'customer-2')).toThrow(InvalidCursorError);
    expect(() => codec.decode(c)).toThrow(InvalidCursorError);
  });

  it('is accepted by every replica with the same CURSOR_SECRET (the key is derived, not random)', () => {
    const secret = 'a-cursor-secret-of-at-least-32-characters';
    expect(deriveCursorKey(secret)).toEqual(deriveCursorKey(secret));
    expect(deriveCursorKey(secret)).toHaveLength(32);
    const c = createCursorCodec('kind-a', deriveCursorKey(secret)).encode(['?a=1'], 'b');
    expect(createCursorCodec('kind-a', deriveCursorKey(secret)).decode(c, 'b')).toEqual(['?a=1']);
    expect(() => createCursorCodec('kind-a', deriveCursorKey(`${secret}!`)).decode(c, 'b')).toThrow(InvalidCursorError);
    expect(() => createCursorCodec('kind-a').decode(c, 'b')).toThrow(InvalidCursorError); // a random per-process key
  });
});

/** The cursor with the byte at base64url character `at` changed. */
function flip(cursor: string, at: number): string {
  const bytes = Buffer.from(cursor, 'base64url');
  const index = Math.floor((at * 3) / 4);
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes.toString('base64url');
}
