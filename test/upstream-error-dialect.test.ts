import { parseGraphErrorBody, parsePartnerCenterErrorBody, upstreamErrorFromResponse } from '../src/upstream/error-dialect.js';
import { PARTNER_CENTER } from '../src/upstream/partner-center.js';
import { GRAPH } from '../src/upstream/graph.js';
import { GatewayError, BadUserInputError, InvalidCursorError, UpstreamError, contractCodeForStatus, sanitizeMessage } from '../src/errors.js';
import { createCursorCodec } from '../src/upstream/cursor.js';

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
    const err = new UpstreamError({ service: 'graph', status: 0, message: '', correlationId });
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
    expect(new UpstreamError({ service: 'graph', status: 0, message: 'Microsoft Graph did not answer: timed out', correlationId }).productionMessage()).toBe(
      'Microsoft Graph did not answer: timed out',
    );
  });
});

describe('cursors', () => {
  const isObj = (v: unknown): v is { n: string } => typeof v === 'object' && v !== null && typeof (v as { n?: unknown }).n === 'string';
  const codec = createCursorCodec('kind-a', isObj, 'k1');

  it('round-trips and is opaque', () => {
    const c = codec.encode({ n: 'https://graph.microsoft.com/beta/x' });
    expect(c).not.toContain('graph');
    expect(codec.decode(c)).toEqual({ n: 'https://graph.microsoft.com/beta/x' });
  });

  it.each([
    ['a flipped payload byte', (c: string) => `${c[0] === 'A' ? 'B' : 'A'}${c.slice(1)}`],
    ['a re-encoded payload with the old tag', (c: string) => `${Buffer.from(JSON.stringify({ k: 'kind-a', p: { n: 'https://evil.example/' } })).toString('base64url')}.${c.split('.')[1]}`],
    ['no tag', (c: string) => c.split('.')[0]!],
    ['garbage', () => 'not a cursor'],
    ['empty', () => ''],
    ['huge', () => 'a'.repeat(20_000)],
  ])('refuses %s with InvalidCursorError, which names no GraphQL argument', (_name, mutate) => {
    const c = mutate(codec.encode({ n: 'x' }));
    expect(() => codec.decode(c)).toThrow(InvalidCursorError);
    try {
      codec.decode(c);
    } catch (e) {
      expect(e).not.toHaveProperty('field');
    }
  });

  it('refuses a cursor of another kind or another key', () => {
    const c = codec.encode({ n: 'x' });
    expect(() => createCursorCodec('kind-b', isObj, 'k1').decode(c)).toThrow(InvalidCursorError);
    expect(() => createCursorCodec('kind-a', isObj, 'k2').decode(c)).toThrow(InvalidCursorError);
  });
});
