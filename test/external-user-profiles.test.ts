import { seedData } from '../src/emulator/index.js';
import { startStack, startStackForFile } from './helpers/stack.js';

const FIELDS = 'id displayName companyName department jobTitle isDiscoverable isEnabled supervisorId address { city street postalCode countryOrRegion officeLocation state }';
const GET = `query Get($id: ID!) { externalUserProfile(id: $id) { ${FIELDS} } }`;
const LIST = `query List($first: Int, $after: String) { externalUserProfiles(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`;
const UPDATE = `mutation Update($id: ID!, $input: UpdateExternalUserProfileInput!) { updateExternalUserProfile(id: $id, input: $input) { ${FIELDS} } }`;

const ids = seedData.externalUserProfileIds;
const MISSING = 'ffffffff-ffff-4fff-8fff-ffffffffffff';

function aliasedReads(profileIds: readonly string[]): string {
  return `query { ${profileIds.map((id, i) => `p${i}: externalUserProfile(id: "${id}") { id displayName }`).join(' ')} }`;
}

describe('external user profiles', () => {
  const stack = startStackForFile({ env: { MAX_ALIASES: '100', MAX_COST: '100000', MAX_TOKENS: '10000' } });
  beforeEach(() => stack.emulator.reset());

  const graphCalls = () => stack.emulator.requests({ service: 'graph' }).filter((r) => r.batchOf === undefined);

  it('reads one profile', async () => {
    const { body } = await stack.graphql(GET, { id: ids[0] });
    expect(body.errors).toBeUndefined();
    expect(body.data?.externalUserProfile.id).toBe(ids[0]);
    expect(typeof body.data?.externalUserProfile.displayName).toBe('string');
  });

  it('answers a missing profile with null and NOT_FOUND', async () => {
    const { body } = await stack.graphql(GET, { id: MISSING });
    expect(body.data?.externalUserProfile).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('sends 25 aliased reads as at most 2 upstream requests', async () => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(aliasedReads(ids.slice(0, 25)));
    expect(body.errors).toBeUndefined();
    ids.slice(0, 25).forEach((id, i) => expect(body.data?.[`p${i}`].id).toBe(id));
    expect(graphCalls().length).toBeLessThanOrEqual(2);
  });

  it('sends 45 reads as 3 $batch calls and a missing one as that field alone NOT_FOUND', async () => {
    // 45 distinct ids: the seeded profiles, then ids that do not exist.
    const distinct = Array.from({ length: 45 }, (_, i) => (i < ids.length ? ids[i]! : `${MISSING.slice(0, -2)}${String(i).padStart(2, '0')}`));
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(aliasedReads(distinct));
    const batches = graphCalls().filter((r) => r.path.startsWith('/beta/$batch'));
    expect(batches).toHaveLength(3);
    expect(graphCalls()).toHaveLength(3);
    distinct.forEach((id, i) => {
      if (i < ids.length) expect(body.data?.[`p${i}`].id).toBe(id);
      else expect(body.data?.[`p${i}`]).toBeNull();
    });
    const notFound = body.errors?.filter((e) => e.extensions?.code === 'NOT_FOUND') ?? [];
    expect(notFound).toHaveLength(45 - ids.length);
  });

  it('answers a lone-surrogate id BAD_USER_INPUT naming the field, and its two batch neighbours still resolve', async () => {
    const query = `query($a: ID!, $b: ID!, $bad: ID!) {
      a: externalUserProfile(id: $a) { id } b: externalUserProfile(id: $b) { id } bad: externalUserProfile(id: $bad) { id }
    }`;
    const { body } = await stack.graphql(query, { a: ids[0], b: ids[1], bad: '\ud800' });
    expect(body.data).toEqual({ a: { id: ids[0] }, b: { id: ids[1] }, bad: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]).toMatchObject({ path: ['bad'], extensions: { code: 'BAD_USER_INPUT', field: 'id' } });

    for (const bad of ['\udfff', 'x\ud800y', '\ud800\ud800']) {
      const alone = await stack.graphql(GET, { id: bad });
      expect(alone.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
      const update = await stack.graphql(UPDATE, { id: bad, input: { jobTitle: 'x' } });
      expect(update.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    }
  });

  it('retries a throttled $batch sub-request alone and succeeds', async () => {
    stack.emulator.injectFault({ path: `/beta/directory/externalUserProfiles/${ids[3]}`, status: 429, retryAfter: '0.05' });
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(aliasedReads(ids.slice(0, 5)));
    expect(body.errors).toBeUndefined();
    expect(body.data?.p3.id).toBe(ids[3]);
    const batches = graphCalls().filter((r) => r.path.startsWith('/beta/$batch'));
    expect(batches).toHaveLength(2);
    expect((batches[1]!.body as { requests: unknown[] }).requests).toHaveLength(1);
  });

  it('updates only the sent keys and returns the new values', async () => {
    const input = { jobTitle: 'Architect', address: { city: 'Oslo', street: 'Karl Johans gate 1' } };
    const { body } = await stack.graphql(UPDATE, { id: ids[1], input });
    expect(body.errors).toBeUndefined();
    expect(body.data?.updateExternalUserProfile).toMatchObject({
      id: ids[1],
      jobTitle: 'Architect',
      address: { city: 'Oslo', street: 'Karl Johans gate 1', postalCode: null, countryOrRegion: null },
    });
    const patch = stack.emulator.requests({ service: 'graph', method: 'PATCH' });
    expect(patch).toHaveLength(1);
    expect(Object.keys(patch[0]!.body as object).sort()).toEqual(['address', 'jobTitle']);
  });

  it('cannot send a non-updatable field: phoneNumber is not in the input type', async () => {
    stack.emulator.clearRequests();
    const { status, body } = await stack.graphql(UPDATE, { id: ids[1], input: { phoneNumber: '+4712345678' } });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.emulator.requests({ service: 'graph' })).toHaveLength(0);
  });

  it.each([
    [{ supervisorId: 'boss' }, 'input.supervisorId'],
    [{ displayName: 'x'.repeat(257) }, 'input.displayName'],
    [{ address: { postalCode: '9'.repeat(41) } }, 'input.address.postalCode'],
    [{}, 'input'],
  ])('refuses invalid input %j naming %s', async (input, field) => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(UPDATE, { id: ids[1], input });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(stack.emulator.requests({ service: 'graph' })).toHaveLength(0);
  });

  it.each(['../users', 'a/b', 'a?b', 'a#b', 'a%2fb', '..'])('refuses the id %s with nothing sent', async (trick) => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(GET, { id: trick });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(stack.emulator.requests({ service: 'graph' })).toHaveLength(0);
  });

  it('pages through all profiles', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response: any = await stack.graphql(LIST, { first: 10, after });
      expect(response.body.errors).toBeUndefined();
      seen.push(...response.body.data.externalUserProfiles.nodes.map((n: { id: string }) => n.id));
      if (!response.body.data.externalUserProfiles.pageInfo.hasNextPage) break;
      after = response.body.data.externalUserProfiles.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids]);
  });

  it('refuses a tampered cursor on `after` without calling Graph', async () => {
    const first: any = await stack.graphql(LIST, { first: 1 });
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(LIST, { first: 1, after: `${first.body.data.externalUserProfiles.pageInfo.endCursor}x` });
    expect(body.errors).toEqual([expect.objectContaining({ message: 'after: invalid cursor', extensions: { code: 'BAD_USER_INPUT', field: 'after' } })]);
    expect(stack.emulator.requests({ service: 'graph' })).toHaveLength(0);
  });

  it('allows an app-only token with the role, and refuses personal accounts', async () => {
    const app = await stack.mint({ roles: ['ExternalUserProfile.ReadWrite.All'] });
    const asApp = await stack.graphql(UPDATE, { id: ids[2], input: { department: 'Sales' } }, { token: app });
    expect(asApp.body.errors).toBeUndefined();
    expect(asApp.body.data?.updateExternalUserProfile.department).toBe('Sales');

    const msa = await stack.mint({ msa: true, scp: 'ExternalUserProfile.ReadWrite.All' });
    const asMsa = await stack.graphql(GET, { id: ids[0] }, { token: msa });
    expect(asMsa.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const reader = await stack.mint({ roles: ['ExternalUserProfile.Read.All'] });
    expect((await stack.graphql(UPDATE, { id: ids[2], input: { department: 'x' } }, { token: reader })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('external user profiles outside the global cloud', () => {
  it('answers NOT_AVAILABLE_IN_CLOUD without a call', async () => {
    const stack = await startStack({ env: { CLOUD: 'china' } });
    try {
      for (const [query, variables] of [
        [GET, { id: ids[0] }],
        [LIST, {}],
        [UPDATE, { id: ids[0], input: { jobTitle: 'x' } }],
      ] as const) {
        const { body } = await stack.graphql(query, variables);
        expect(body.errors?.[0]?.extensions?.code).toBe('NOT_AVAILABLE_IN_CLOUD');
      }
      expect(stack.emulator.requests({ service: 'graph' })).toHaveLength(0);
    } finally {
      await stack.close();
    }
  });
});
