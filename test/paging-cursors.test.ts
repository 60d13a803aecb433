/**
 * Paging cursors as a client sees them (issue 28, item 6): opaque (encrypted, no upstream URL or
 * continuation readable), short, accepted by every replica with the same CURSOR_SECRET, and any cursor
 * that does not verify, the signed-JSON ones of earlier versions included, is `after: invalid cursor`.
 * Three gateways on one emulator: A and B share a secret, C has another.
 */
import { createHash, createHmac } from 'node:crypto';
import { seedData, startEmulator, type Emulator } from '../src/emulator/index.js';
import { startStack, type Stack } from './helpers/stack.js';

const SECRET = 'paging-cursor-secret-for-the-tests-0123456789';
const USERS = `query Users($c: ID!, $first: Int, $after: String) {
  customerUsers(customerId: $c, first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
}`;
const PROFILES = `query Profiles($first: Int, $after: String) {
  externalUserProfiles(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
}`;
const customer = seedData.customers[0]!;
const INVALID = [expect.objectContaining({ message: 'after: invalid cursor', extensions: { code: 'BAD_USER_INPUT', field: 'after' } })];

/** A cursor exactly as gateways before this format made them: base64url JSON, `.`, HMAC-SHA256 under a SHA-256 of the secret. */
function oldFormatCursor(secret: string, kind: string, payload: unknown): string {
  const key = createHash('sha256').update(`partner-bff-cursor:${secret}`).digest();
  const data = Buffer.from(JSON.stringify({ k: kind, p: payload }), 'utf8').toString('base64url');
  return `${data}.${createHmac('sha256', key).update(`${kind}\n${data}`).digest('base64url')}`;
}

/** Everything a cursor could show, as text: itself and its base64url decoding. */
const readable = (cursor: string) => `${cursor}\n${Buffer.from(cursor, 'base64url').toString('latin1')}`;

let emulator: Emulator;
let a: Stack;
let b: Stack;
let c: Stack;
beforeAll(async () => {
  emulator = await startEmulator({ testMode: true });
  [a, b, c] = await Promise.all([
    startStack({ emulator, env: { CURSOR_SECRET: SECRET } }),
    startStack({ emulator, env: { CURSOR_SECRET: SECRET } }),
    startStack({ emulator, env: { CURSOR_SECRET: `${SECRET}-another` } }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
  await emulator?.close();
});
beforeEach(() => emulator.reset());

/** The first page's cursor from `stack`, and what the gateway then sends upstream for the second page (through `next`). */
async function usersContinuation(stack: Stack, next: Stack) {
  const first: any = await stack.graphql(USERS, { c: customer.id, first: 2 });
  expect(first.body.errors).toBeUndefined();
  const cursor: string = first.body.data.customerUsers.pageInfo.endCursor;
  emulator.clearRequests();
  const second: any = await next.graphql(USERS, { c: customer.id, first: 2, after: cursor });
  const [sent] = emulator.requests({ service: 'partner-center', method: 'GET' });
  return { cursor, second, sent: sent! };
}

async function profilesContinuation(stack: Stack, next: Stack) {
  const first: any = await stack.graphql(PROFILES, { first: 2 });
  expect(first.body.errors).toBeUndefined();
  const cursor: string = first.body.data.externalUserProfiles.pageInfo.endCursor;
  emulator.clearRequests();
  const second: any = await next.graphql(PROFILES, { first: 2, after: cursor });
  const [sent] = emulator.requests({ service: 'graph', method: 'GET' });
  return { cursor, second, sent: sent! };
}

describe('paging cursors', () => {
  it('a customerUsers cursor from one replica pages on another with the same CURSOR_SECRET, and shows no URL or continuation token', async () => {
    const { cursor, second, sent } = await usersContinuation(a, b);
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data.customerUsers.nodes).toHaveLength(2);
    const token = sent.headers['ms-continuationtoken']!;
    expect(token.length).toBeGreaterThan(8);
    expect(sent.path).toMatch(/seekOperation=Next/);
    for (const text of [token, 'seekOperation', 'customers', customer.id, 'size=', 'http', '127.0.0.1']) expect(readable(cursor)).not.toContain(text);
    // As short as the continuation allows: the token and the query (`?size=2&seekOperation=Next`), in
    // base64url, plus about 40 characters of version, nonce, tag and lengths.
    const query = new URL(sent.path, 'http://x').search;
    expect(cursor.length).toBeLessThanOrEqual(Math.ceil(((token.length + query.length) * 4) / 3) + 45);
  });

  it('an externalUserProfiles cursor from one replica pages on another, and shows no nextLink or $skiptoken', async () => {
    const { cursor, second, sent } = await profilesContinuation(a, b);
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data.externalUserProfiles.nodes).toHaveLength(2);
    const query = new URL(sent.path, 'http://x').search;
    const skiptoken = new URLSearchParams(query).get('$skiptoken')!;
    expect(skiptoken.length).toBeGreaterThan(8);
    for (const text of [skiptoken, 'skiptoken', 'externalUserProfiles', 'beta', 'http', '127.0.0.1']) expect(readable(cursor)).not.toContain(text);
    expect(cursor.length).toBeLessThanOrEqual(Math.ceil((query.length * 4) / 3) + 45);
  });

  it('a replica with another CURSOR_SECRET refuses them as `after: invalid cursor`, without calling upstream', async () => {
    const users = await usersContinuation(a, c);
    expect(users.second.body.errors).toEqual(INVALID);
    expect(users.sent).toBeUndefined();
    const profiles = await profilesContinuation(a, c);
    expect(profiles.second.body.errors).toEqual(INVALID);
    expect(profiles.sent).toBeUndefined();
  });

  it('refuses a cursor made before the encrypted format, though signed with the same CURSOR_SECRET (regression: old cursors were accepted)', async () => {
    // What a gateway of the previous version would have handed out for these lists, valid tag included.
    const { sent: usersSent } = await usersContinuation(a, a);
    const oldUsers = oldFormatCursor(SECRET, 'partner-center/users', {
      c: customer.id.toLowerCase(),
      u: usersSent.path.replace(/^\/v1/, ''),
      h: [['MS-ContinuationToken', usersSent.headers['ms-continuationtoken']]],
    });
    const { sent: profilesSent } = await profilesContinuation(a, a);
    const oldProfiles = oldFormatCursor(SECRET, 'graph/externalUserProfiles', { n: `${emulator.url}${profilesSent.path}` });
    emulator.clearRequests();
    expect((await a.graphql(USERS, { c: customer.id, first: 2, after: oldUsers })).body.errors).toEqual(INVALID);
    expect((await a.graphql(PROFILES, { first: 2, after: oldProfiles })).body.errors).toEqual(INVALID);
    expect(emulator.requests({ service: 'partner-center' })).toHaveLength(0);
    expect(emulator.requests({ service: 'graph' })).toHaveLength(0);
  });

  it('refuses a changed cursor, and one list\'s cursor on the other list or another customer', async () => {
    const { cursor: users } = await usersContinuation(a, a);
    const { cursor: profiles } = await profilesContinuation(a, a);
    const changed = (cursor: string) => {
      const bytes = Buffer.from(cursor, 'base64url');
      bytes[20] = bytes[20]! ^ 0x01;
      return bytes.toString('base64url');
    };
    emulator.clearRequests();
    for (const [query, variables] of [
      [USERS, { c: customer.id, after: changed(users) }],
      [USERS, { c: seedData.customers[1]!.id, after: users }],
      [USERS, { c: customer.id, after: profiles }],
      [PROFILES, { after: changed(profiles) }],
      [PROFILES, { after: users }],
    ] as const) {
      expect((await a.graphql(query, variables)).body.errors).toEqual(INVALID);
    }
    expect(emulator.requests({ service: 'partner-center' })).toHaveLength(0);
    expect(emulator.requests({ service: 'graph' })).toHaveLength(0);
  });
});
