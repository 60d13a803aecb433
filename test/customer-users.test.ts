import { seedData } from '../src/emulator/index.js';
import { startStackForFile } from './helpers/stack.js';

const USER_FIELDS = 'id customerId userPrincipalName firstName lastName displayName usageLocation state userDomainType softDeletionTime';
const GET = `query Get($c: ID!, $u: ID!) { customerUser(customerId: $c, userId: $u) { ${USER_FIELDS} } }`;
const LIST = `query List($c: ID!, $first: Int, $after: String) {
  customerUsers(customerId: $c, first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
}`;
const UPDATE = `mutation Update($c: ID!, $u: ID!, $input: UpdateCustomerUserInput!) {
  updateCustomerUser(customerId: $c, userId: $u, input: $input) { ${USER_FIELDS} }
}`;

const customer = seedData.customers[0]!;
const userId = customer.userIds[0]!;
const MISSING = '00000000-0000-4000-8000-000000000001';

describe('customer users', () => {
  const stack = startStackForFile();
  beforeEach(() => stack.emulator.reset());

  const patches = () => stack.emulator.requests({ service: 'partner-center', method: 'PATCH' });

  it('reads one user with enums and dates mapped', async () => {
    const { body } = await stack.graphql(GET, { c: customer.id, u: userId });
    expect(body.errors).toBeUndefined();
    expect(body.data?.customerUser).toMatchObject({ id: userId, customerId: customer.id, state: 'ACTIVE' });
    expect(['NONE', 'MANAGED', 'FEDERATED']).toContain(body.data?.customerUser.userDomainType);
  });

  it('answers a missing user with null and NOT_FOUND', async () => {
    const { body } = await stack.graphql(GET, { c: customer.id, u: MISSING });
    expect(body.data?.customerUser).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(body.errors?.[0]?.path).toEqual(['customerUser']);
  });

  it('costs one upstream call when the same user is asked for twice in one operation', async () => {
    stack.emulator.clearRequests();
    const query = `query($c: ID!, $u: ID!) { a: customerUser(customerId: $c, userId: $u) { id } b: customerUser(customerId: $c, userId: $u) { displayName } }`;
    const { body } = await stack.graphql(query, { c: customer.id, u: userId });
    expect(body.errors).toBeUndefined();
    expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(1);
  });

  it('pages through every user once with first: 20, sending the continuation header', async () => {
    stack.emulator.clearRequests();
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const response: any = await stack.graphql(LIST, { c: customer.id, first: 20, after });
      expect(response.body.errors).toBeUndefined();
      const connection = response.body.data.customerUsers;
      seen.push(...connection.nodes.map((n: { id: string }) => n.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual([...customer.userIds]);
    const calls = stack.emulator.requests({ service: 'partner-center', method: 'GET' });
    expect(calls.length).toBe(Math.ceil(customer.userIds.length / 20));
    expect(calls.slice(1).every((c) => c.headers['ms-continuationtoken'] && c.path.includes('seekOperation=Next'))).toBe(true);
  });

  it('refuses a tampered cursor without calling upstream', async () => {
    const first: any = await stack.graphql(LIST, { c: customer.id, first: 5 });
    const cursor: string = first.body.data.customerUsers.pageInfo.endCursor;
    const tampered = cursor.slice(0, -3) + (cursor.endsWith('AAA') ? 'BBB' : 'AAA');
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(LIST, { c: customer.id, first: 5, after: tampered });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(0);
  });

  it('names the argument `after` when the client refuses a cursor (the REST client names none)', async () => {
    const first: any = await stack.graphql(LIST, { c: customer.id, first: 5 });
    const other = seedData.customers[1]!.id;
    for (const variables of [{ c: customer.id, after: 'garbage' }, { c: other, after: first.body.data.customerUsers.pageInfo.endCursor }]) {
      const { body } = await stack.graphql(LIST, variables);
      expect(body.errors).toEqual([expect.objectContaining({ message: 'after: invalid cursor', extensions: { code: 'BAD_USER_INPUT', field: 'after' } })]);
    }
  });

  it.each([0, 101])('refuses first: %d', async (first) => {
    const { body } = await stack.graphql(LIST, { c: customer.id, first });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('sends only the changed keys in Partner Center casing and returns the updated user', async () => {
    const { body } = await stack.graphql(UPDATE, { c: customer.id, u: userId, input: { displayName: 'New Name', usageLocation: 'DE' } });
    expect(body.errors).toBeUndefined();
    expect(body.data?.updateCustomerUser).toMatchObject({ displayName: 'New Name', usageLocation: 'DE' });
    const [patch] = patches();
    expect(patch?.path).toBe(`/v1/customers/${customer.id}/users/${userId}`);
    expect(patch?.body).toEqual({ displayName: 'New Name', usageLocation: 'DE', attributes: { objectType: 'CustomerUser' } });
    expect(patch?.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('restores a soft-deleted user with state: ACTIVE', async () => {
    const { body } = await stack.graphql(UPDATE, {
      c: seedData.softDeletedUserCustomerId,
      u: seedData.softDeletedUserId,
      input: { state: 'ACTIVE' },
    });
    expect(body.errors).toBeUndefined();
    expect(body.data?.updateCustomerUser).toMatchObject({ state: 'ACTIVE', softDeletionTime: null });
    expect(patches()[0]?.body).toEqual({ state: 'active', attributes: { objectType: 'CustomerUser' } });
  });

  it('retries a 503 on the PATCH with the same MS-RequestId and updates the user once', async () => {
    stack.emulator.injectFault({ method: 'PATCH', path: `/v1/customers/${customer.id}/users/${userId}`, status: 503 });
    const { body } = await stack.graphql(UPDATE, { c: customer.id, u: userId, input: { firstName: 'Retried' } });
    expect(body.errors).toBeUndefined();
    const attempts = patches();
    expect(attempts.map((a) => a.status)).toEqual([503, 200]);
    expect(attempts[0]?.headers['ms-requestid']).toBe(attempts[1]?.headers['ms-requestid']);
  });

  it("two aliased updates under one Idempotency-Key are two writes: b's change is not lost", async () => {
    const twice = `mutation Twice($c: ID!, $u: ID!) {
      a: updateCustomerUser(customerId: $c, userId: $u, input: { firstName: "Alias-A" }) { firstName lastName }
      b: updateCustomerUser(customerId: $c, userId: $u, input: { lastName: "Alias-B" }) { firstName lastName }
    }`;
    const headers = { 'idempotency-key': 'one-key-two-writes' };
    const { body } = await stack.graphql(twice, { c: customer.id, u: userId }, { headers });
    expect(body.errors).toBeUndefined();
    expect(body.data?.b).toEqual({ firstName: 'Alias-A', lastName: 'Alias-B' });
    const stored = await stack.graphql(GET, { c: customer.id, u: userId });
    expect(stored.body.data?.customerUser).toMatchObject({ firstName: 'Alias-A', lastName: 'Alias-B' });
    const [a, b] = patches().map((p) => p.headers['ms-requestid']);
    expect(a).not.toBe(b);

    // A resend of the same document replays both writes: the same two MS-RequestIds, nothing re-applied.
    await stack.graphql(UPDATE, { c: customer.id, u: userId, input: { firstName: 'Between' } });
    const resent = await stack.graphql(twice, { c: customer.id, u: userId }, { headers });
    expect(resent.body.data).toEqual(body.data);
    expect(patches().slice(3).map((p) => p.headers['ms-requestid'])).toEqual([a, b]);
    expect((await stack.graphql(GET, { c: customer.id, u: userId })).body.data?.customerUser.firstName).toBe('Between');
  });

  it('never logs, echoes or returns the password', async () => {
    const password = 'Sup3r-Secret-Pa55word!';
    const { body } = await stack.graphql(UPDATE, {
      c: customer.id,
      u: userId,
      input: { passwordProfile: { password, forceChangePassword: true } },
    });
    expect(body.errors).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain(password);
    expect(patches()[0]?.body).toMatchObject({ passwordProfile: { password, forceChangePassword: true } });
    expect(stack.logs.join('\n')).not.toContain(password);

    const short = await stack.graphql(UPDATE, { c: customer.id, u: userId, input: { passwordProfile: { password: 'short' } } });
    expect(short.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.passwordProfile.password' });
    expect(JSON.stringify(short.body)).not.toContain('short');
  });

  it.each([
    [{ userPrincipalName: 'no-at-sign' }, 'input.userPrincipalName'],
    [{ usageLocation: 'USA' }, 'input.usageLocation'],
    [{ firstName: 'x'.repeat(65) }, 'input.firstName'],
    [{ state: 'INACTIVE' }, 'input.state'],
    [{}, 'input'],
  ])('refuses invalid input %j naming %s, with nothing sent', async (input, field) => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(UPDATE, { c: customer.id, u: userId, input });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(0);
  });

  it.each(['../profiles/support', `${customer.id}/users`, 'a?b', 'a#b', '%2e%2e%2fprofiles', 'not-a-guid'])(
    'refuses the path-trick id %s with nothing sent',
    async (trick) => {
      stack.emulator.clearRequests();
      const asCustomer = await stack.graphql(GET, { c: trick, u: userId });
      const asUser = await stack.graphql(UPDATE, { c: customer.id, u: trick, input: { firstName: 'x' } });
      expect(asCustomer.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'customerId' });
      expect(asUser.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
      expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(0);
    },
  );

  it('enforces the permission table', async () => {
    const reader = await stack.mint({ scp: 'CustomerUser.Read.All' });
    expect((await stack.graphql(GET, { c: customer.id, u: userId }, { token: reader })).body.errors).toBeUndefined();
    const denied = await stack.graphql(UPDATE, { c: customer.id, u: userId, input: { firstName: 'x' } }, { token: reader });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const app = await stack.mint({ roles: ['CustomerUser.ReadWrite.All'] });
    expect((await stack.graphql(GET, { c: customer.id, u: userId }, { token: app })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const none = await stack.graphql(GET, { c: customer.id, u: userId }, { token: null });
    expect(none.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
