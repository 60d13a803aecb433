/**
 * `$select` from the GraphQL selection (issue 27), against the emulator, which answers only the selected
 * properties as Graph does: every field of `ExternalUserProfile`, taken from the schema (a field added
 * later is covered without touching this file), is fetched when it is selected alone, on a plain GET, a
 * list page and a `$batch` sub-request; the request log shows what was asked.
 */
import { getNamedType, isObjectType, type GraphQLObjectType } from 'graphql';
import { seedData } from '../src/emulator/index.js';
import type { RecordedRequest } from '../src/emulator/index.js';
import { startStackForFile } from './helpers/stack.js';

const ids = seedData.externalUserProfileIds;

/** The selection of a field: scalars bare, object fields with every field of their type. */
function selectionOf(type: GraphQLObjectType, field: string): string {
  const named = getNamedType(type.getFields()[field]!.type);
  return isObjectType(named) ? `${field} { ${Object.keys(named.getFields()).join(' ')} }` : field;
}

/** The `$select` names of a recorded Graph read (a GET or a `$batch` sub-request); undefined without one. */
function selectOf(request: RecordedRequest): string[] | undefined {
  const query = request.path.split('?')[1];
  const select = new URLSearchParams(query ?? '').get('$select');
  return select === null ? undefined : select.split(',');
}

describe('$select from the GraphQL selection', () => {
  const stack = startStackForFile({ env: { MAX_ALIASES: '100', MAX_COST: '100000', MAX_TOKENS: '10000' } });
  beforeEach(() => stack.emulator.reset());

  const profileType = (): GraphQLObjectType => stack.gateway.schema.getType('ExternalUserProfile') as GraphQLObjectType;
  const fields = (): string[] => Object.keys(profileType().getFields());
  const wideSelection = (): string => fields().map((f) => selectionOf(profileType(), f)).join(' ');
  const graphReads = (): RecordedRequest[] =>
    stack.emulator.requests({ service: 'graph', method: 'GET' }).filter((r) => r.path.startsWith('/beta/directory/externalUserProfiles'));

  /** Every field of the profiles, read with every field selected (a reference the narrow reads must equal). */
  async function wideRead(profileIds: readonly string[]): Promise<Record<string, Record<string, unknown>>> {
    const query = `query { ${profileIds.map((id, i) => `p${i}: externalUserProfile(id: "${id}") { ${wideSelection()} }`).join(' ')} }`;
    const { body } = await stack.graphql(query);
    expect(body.errors).toBeUndefined();
    return Object.fromEntries(profileIds.map((id, i) => [id, body.data![`p${i}`] as Record<string, unknown>]));
  }

  /** A profile whose every field but `deletedDateTime` (null while a profile lives) has a value: a missing property shows. */
  async function fullProfile(): Promise<{ id: string; wide: Record<string, unknown> }> {
    const all = await wideRead(ids.slice(0, 20));
    const id = ids.slice(0, 20).find((i) => fields().every((f) => f === 'deletedDateTime' || all[i]![f] !== null));
    expect(id).toBeDefined();
    return { id: id!, wide: all[id!]! };
  }

  it('walks the schema type, not a list written here', () => {
    expect(fields().length).toBeGreaterThanOrEqual(13);
    expect(fields()).toContain('address');
  });

  it('fetches every field when it is selected alone: a plain GET with $select of id and that field\'s property', async () => {
    const { id, wide } = await fullProfile();
    for (const field of fields()) {
      stack.emulator.clearRequests();
      const { body } = await stack.graphql(`query { externalUserProfile(id: "${id}") { ${selectionOf(profileType(), field)} } }`);
      expect({ field, errors: body.errors }).toEqual({ field, errors: undefined });
      expect({ field, value: body.data?.externalUserProfile[field] }).toEqual({ field, value: wide[field] });
      const [read, ...more] = graphReads();
      expect(more).toEqual([]);
      const select = selectOf(read!);
      expect({ field, select: select?.[0] }).toEqual({ field, select: 'id' });
      // Nothing but id for `id`; else exactly one property more, one Graph answered (200, not 400).
      expect({ field, count: select!.length }).toEqual({ field, count: field === 'id' ? 1 : 2 });
      expect(read!.status).toBe(200);
    }
  });

  it('fetches every field when it is selected alone on a list page (the nextLink carries the $select)', async () => {
    const first = 10;
    const page = await stack.graphql(`query { externalUserProfiles(first: ${first}) { nodes { id } } }`);
    const pageIds = (page.body.data?.externalUserProfiles.nodes as Array<{ id: string }>).map((n) => n.id);
    const wide = await wideRead(pageIds);
    // Every field but deletedDateTime has a value on the page, so a property not fetched shows.
    for (const field of fields()) if (field !== 'deletedDateTime') expect({ field, some: pageIds.some((pid) => wide[pid]![field] !== null) }).toEqual({ field, some: true });
    for (const field of fields()) {
      stack.emulator.clearRequests();
      const { body } = await stack.graphql(
        `query { externalUserProfiles(first: ${first}) { nodes { ${selectionOf(profileType(), field)} } pageInfo { endCursor } } }`,
      );
      expect({ field, errors: body.errors }).toEqual({ field, errors: undefined });
      const nodes = body.data?.externalUserProfiles.nodes as Array<Record<string, unknown>>;
      expect({ field, values: nodes.map((n) => n[field]) }).toEqual({ field, values: pageIds.map((pid) => wide[pid]![field]) });
      const [read, ...more] = graphReads();
      expect(more).toEqual([]);
      expect({ field, select: selectOf(read!)?.length }).toEqual({ field, select: field === 'id' ? 1 : 2 });
    }
  });

  it('fetches every field when it is selected alone in a $batch sub-request, each id asking for its own selection', async () => {
    const { id, wide } = await fullProfile();
    const neighbour = ids.find((i) => i !== id)!;
    for (const field of fields()) {
      stack.emulator.clearRequests();
      const { body } = await stack.graphql(
        `query { a: externalUserProfile(id: "${id}") { ${selectionOf(profileType(), field)} } b: externalUserProfile(id: "${neighbour}") { id } }`,
      );
      expect({ field, errors: body.errors }).toEqual({ field, errors: undefined });
      expect({ field, value: body.data?.a[field] }).toEqual({ field, value: wide[field] });
      const subs = stack.emulator.requests({ service: 'graph' }).filter((r) => r.batchOf !== undefined);
      expect(subs).toHaveLength(2);
      const mine = subs.find((r) => r.path.includes(id))!;
      const theirs = subs.find((r) => r.path.includes(neighbour))!;
      expect({ field, select: selectOf(mine)?.length }).toEqual({ field, select: field === 'id' ? 1 : 2 });
      expect(selectOf(theirs)).toEqual(['id']);
    }
  });

  it('maps a nested selection to its parent property: address { city } asks for address', async () => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(`query { externalUserProfile(id: "${ids[0]}") { address { city } displayName } }`);
    expect(body.errors).toBeUndefined();
    expect(selectOf(graphReads()[0]!)).toEqual(['id', 'displayName', 'address']);
  });

  it('follows fragments and ignores aliases and __typename', async () => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(`
      query { externalUserProfile(id: "${ids[0]}") { __typename name: displayName again: displayName ...Work ... on ExternalUserProfile { isEnabled } } }
      fragment Work on ExternalUserProfile { jobTitle department }`);
    expect(body.errors).toBeUndefined();
    expect(selectOf(graphReads()[0]!)).toEqual(['id', 'displayName', 'department', 'jobTitle', 'isEnabled']);
  });

  it('sends reads of one id with different selections as one sub-request asking for the union', async () => {
    const [x, y] = [ids[0]!, ids[1]!];
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(`query {
      a: externalUserProfile(id: "${x}") { displayName } b: externalUserProfile(id: "${x}") { jobTitle } c: externalUserProfile(id: "${y}") { companyName }
    }`);
    expect(body.errors).toBeUndefined();
    const subs = stack.emulator.requests({ service: 'graph' }).filter((r) => r.batchOf !== undefined);
    expect(subs.map((r) => [r.path.split('?')[0], selectOf(r)]).sort()).toEqual(
      [
        [`/beta/directory/externalUserProfiles/${x}`, ['id', 'displayName', 'jobTitle']],
        [`/beta/directory/externalUserProfiles/${y}`, ['id', 'companyName']],
      ].sort(),
    );
    const wide = await wideRead([x, y]);
    expect(body.data).toEqual({
      a: { displayName: wide[x]!.displayName },
      b: { jobTitle: wide[x]!.jobTitle },
      c: { companyName: wide[y]!.companyName },
    });
  });

  it('returns the updated profile with the fields the mutation selects', async () => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(`mutation { updateExternalUserProfile(id: "${ids[0]}", input: { jobTitle: "Architect" }) { jobTitle address { city } } }`);
    expect(body.errors).toBeUndefined();
    expect(body.data?.updateExternalUserProfile.jobTitle).toBe('Architect');
    expect(selectOf(graphReads()[0]!)).toEqual(['id', 'jobTitle', 'address']);
  });

  it('reads a next page selecting more than the first page did: what the nextLink lacks is read by id, never null', async () => {
    const first = await stack.graphql('query { externalUserProfiles(first: 3) { nodes { id } pageInfo { endCursor } } }');
    const after = first.body.data?.externalUserProfiles.pageInfo.endCursor as string;
    stack.emulator.clearRequests();
    const next = await stack.graphql(
      'query Next($after: String) { externalUserProfiles(first: 3, after: $after) { nodes { id displayName jobTitle } pageInfo { endCursor } } }',
      { after },
    );
    expect(next.body.errors).toBeUndefined();
    const nodes = next.body.data?.externalUserProfiles.nodes as Array<{ id: string; displayName: string | null; jobTitle: string | null }>;
    expect(nodes).toHaveLength(3);
    // The nextLink as Graph wrote it ($select=id), then the missing properties of the page's ids.
    const calls = stack.emulator.requests({ service: 'graph' }).filter((r) => r.batchOf === undefined);
    expect(calls.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(['GET /beta/directory/externalUserProfiles', 'POST /beta/$batch']);
    expect(selectOf(calls[0]!)).toEqual(['id']);
    const subs = stack.emulator.requests({ service: 'graph' }).filter((r) => r.batchOf !== undefined);
    expect(subs.map(selectOf)).toEqual(nodes.map(() => ['id', 'displayName', 'jobTitle']));
    const wide = await wideRead(nodes.map((n) => n.id));
    expect(nodes).toEqual(nodes.map((n) => ({ id: n.id, displayName: wide[n.id]!.displayName, jobTitle: wide[n.id]!.jobTitle })));
  });

  it('follows a next page with the same selection as Graph wrote it, and no more calls', async () => {
    const query = 'query Page($after: String) { externalUserProfiles(first: 3, after: $after) { nodes { id companyName } pageInfo { endCursor } } }';
    const first = await stack.graphql(query);
    stack.emulator.clearRequests();
    const next = await stack.graphql(query, { after: first.body.data?.externalUserProfiles.pageInfo.endCursor });
    expect(next.body.errors).toBeUndefined();
    const calls = stack.emulator.requests({ service: 'graph' });
    expect(calls).toHaveLength(1);
    expect(selectOf(calls[0]!)).toEqual(['id', 'companyName']);
  });
});
