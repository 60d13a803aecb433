/**
 * Real clients against the real server (issue 9): Apollo Client 4 as a web app would use it, with the
 * typed documents `npm run codegen` generates from the README's example operations, and a mobile-style
 * client sending Automatic Persisted Queries over GET.
 */
import { createHash } from 'node:crypto';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { seedData } from '../src/emulator/index.js';
import {
  MeDocument,
  MoveProfileDocument,
  ProfileDocument,
  ProfilesDocument,
  RenameUserDocument,
  SetSupportEmailDocument,
  SupportDocument,
  UsersDocument,
} from '../examples/generated/graphql.js';
import { startStackForFile } from './helpers/stack.js';

interface Call {
  method: string;
  url: URL;
  status: number;
  headers: Headers;
}

/** A `fetch` that records what the client sent to the gateway. */
function recordingFetch(calls: Call[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    calls.push({ method: init?.method ?? 'GET', url: new URL(String(input)), status: response.status, headers: response.headers });
    return response;
  };
}

const stack = startStackForFile();
beforeEach(() => stack.emulator.reset());

const upstreamCalls = () => stack.emulator.requests().filter((r) => r.service === 'partner-center' || r.service === 'graph');

describe('web: Apollo Client with a normalized cache', () => {
  let calls: Call[];
  let client: ApolloClient;
  beforeEach(() => {
    calls = [];
    client = new ApolloClient({
      link: new HttpLink({ uri: `${stack.url}/graphql`, fetch: recordingFetch(calls), headers: { authorization: `Bearer ${stack.token}` } }),
      cache: new InMemoryCache(),
    });
  });
  afterEach(() => client.stop());

  /**
   * Runs `mutate` and returns what the gateway and the upstreams saw from then on, after the caller's
   * own cache reads: exactly one gateway request (the mutation) proves the reads came from the cache.
   */
  async function afterMutation(mutate: () => Promise<unknown>, readBack: () => Promise<void>) {
    calls.length = 0;
    stack.emulator.clearRequests();
    await mutate();
    const upstreamForMutation = upstreamCalls().length;
    await readBack();
    expect(calls.map((c) => c.method)).toEqual(['POST']);
    expect(upstreamCalls()).toHaveLength(upstreamForMutation);
  }

  it('runs a query and sees the viewer', async () => {
    const { data } = await client.query({ query: MeDocument });
    expect(data?.viewer).toMatchObject({ authenticated: true, kind: 'DELEGATED', tenantId: seedData.partnerTenantId });
  });

  it('updateSupportProfile refreshes the cached supportProfile without a refetch', async () => {
    const before = await client.query({ query: SupportDocument });
    const id = before.data!.supportProfile.id;
    expect(before.data!.supportProfile.email).not.toBe('help@contoso.example');
    await afterMutation(
      async () => {
        const { data } = await client.mutate({ mutation: SetSupportEmailDocument });
        expect(data?.updateSupportProfile).toMatchObject({ id, email: 'help@contoso.example' });
      },
      async () => {
        expect(client.readQuery({ query: SupportDocument })?.supportProfile).toMatchObject({ id, email: 'help@contoso.example' });
        const again = await client.query({ query: SupportDocument }); // cache-first: no request
        expect(again.data?.supportProfile.email).toBe('help@contoso.example');
        expect(again.data?.supportProfile.telephone).toBe(before.data!.supportProfile.telephone);
      },
    );
  });

  it('updateCustomerUser refreshes the user inside the cached customerUsers page', async () => {
    const customerId = seedData.customers[0]!.id;
    const page = await client.query({ query: UsersDocument, variables: { customerId } });
    const user = page.data!.customerUsers.nodes[0]!;
    expect(user.displayName).not.toBe('New Name');
    await afterMutation(
      async () => {
        const { data } = await client.mutate({ mutation: RenameUserDocument, variables: { customerId, userId: user.id } });
        expect(data?.updateCustomerUser).toMatchObject({ id: user.id, displayName: 'New Name', usageLocation: 'DE' });
      },
      async () => {
        const cached = client.readQuery({ query: UsersDocument, variables: { customerId } });
        expect(cached?.customerUsers.nodes[0]).toMatchObject({ id: user.id, displayName: 'New Name', userPrincipalName: user.userPrincipalName });
        expect(cached?.customerUsers.nodes.slice(1)).toEqual(page.data!.customerUsers.nodes.slice(1));
      },
    );
  });

  it('updateExternalUserProfile refreshes the cached profile and the list entry', async () => {
    const list = await client.query({ query: ProfilesDocument });
    const id = list.data!.externalUserProfiles.nodes[0]!.id;
    await client.query({ query: ProfileDocument, variables: { id } });
    await afterMutation(
      async () => {
        const { data } = await client.mutate({ mutation: MoveProfileDocument, variables: { id } });
        expect(data?.updateExternalUserProfile).toMatchObject({ id, jobTitle: 'Architect', address: { city: 'Oslo' } });
      },
      async () => {
        expect(client.readQuery({ query: ProfileDocument, variables: { id } })?.externalUserProfile).toMatchObject({
          id,
          jobTitle: 'Architect',
          address: { city: 'Oslo' },
        });
        // The list shares the normalized entity (ExternalUserProfile:<id>).
        expect(client.cache.identify({ __typename: 'ExternalUserProfile', id })).toBe(`ExternalUserProfile:${id}`);
        expect(client.readQuery({ query: ProfilesDocument })?.externalUserProfiles.nodes[0]!.id).toBe(id);
      },
    );
  });
});

describe('mobile: Automatic Persisted Queries over GET', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  /** What an Apollo mobile client does: hash first, over GET for queries; the full document only when asked. */
  function mobileClient(calls: Call[]) {
    const link = ApolloLink.from([
      new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
      new HttpLink({
        uri: `${stack.url}/graphql`,
        fetch: recordingFetch(calls),
        // Apollo's iOS and Kotlin clients send this header; it also satisfies Apollo's CSRF prevention on GET.
        headers: { authorization: `Bearer ${stack.token}`, 'x-apollo-operation-name': 'mobile' },
      }),
    ]);
    return new ApolloClient({ link, cache: new InMemoryCache() });
  }

  it('registers a query on PERSISTED_QUERY_NOT_FOUND, then other devices run it by hash with a GET', async () => {
    const firstCalls: Call[] = [];
    const first = mobileClient(firstCalls);
    const { data } = await first.query({ query: SupportDocument });
    expect(data?.supportProfile.id).toEqual(expect.any(String));
    // The hash alone over GET, answered PERSISTED_QUERY_NOT_FOUND; then the document over POST, which registers it.
    expect(firstCalls.map((c) => c.method)).toEqual(['GET', 'POST']);
    expect(firstCalls[0]!.url.searchParams.has('query')).toBe(false);
    first.stop();

    const secondCalls: Call[] = [];
    const second = mobileClient(secondCalls);
    const again = await second.query({ query: SupportDocument });
    expect(again.data?.supportProfile).toEqual(data?.supportProfile);
    expect(secondCalls).toHaveLength(1);
    const [get] = secondCalls;
    expect(get!.method).toBe('GET');
    expect(get!.status).toBe(200);
    const extensions = JSON.parse(get!.url.searchParams.get('extensions')!) as { persistedQuery: { sha256Hash: string } };
    expect(extensions.persistedQuery.sha256Hash).toMatch(/^[0-9a-f]{64}$/);
    expect(get!.url.searchParams.has('query')).toBe(false);
    // Per-caller data: no HTTP cache may keep it (the client's normalized cache is the cache).
    expect(get!.headers.get('cache-control')).toBe('no-store');
    second.stop();
  });

  it('sends the same stable GET URL (hash and variables, no document) for the same query and variables', async () => {
    const calls: Call[] = [];
    const client = mobileClient(calls);
    const customerId = seedData.customers[0]!.id;
    await client.query({ query: UsersDocument, variables: { customerId } });
    await client.query({ query: UsersDocument, variables: { customerId }, fetchPolicy: 'network-only' });
    // Not found (registered by the POST), then found: the same URL both times.
    expect(calls.map((c) => c.method)).toEqual(['GET', 'POST', 'GET']);
    expect(calls[2]!.url.toString()).toBe(calls[0]!.url.toString());
    expect(calls[2]!.url.searchParams.has('query')).toBe(false);
    expect(JSON.parse(calls[2]!.url.searchParams.get('variables')!)).toEqual({ customerId });
    client.stop();
  });

  it('sends mutations over POST, never GET', async () => {
    const calls: Call[] = [];
    const client = mobileClient(calls);
    const { data } = await client.mutate({ mutation: SetSupportEmailDocument });
    expect(data?.updateSupportProfile.email).toBe('help@contoso.example');
    expect(calls.every((c) => c.method === 'POST')).toBe(true);
    client.stop();
  });
});
