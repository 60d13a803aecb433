/**
 * The profile loader's cache and `$select` (unit, over a fake Graph client): an answer is reused only for a
 * selection it covers, so a narrow answer never serves a wider read.
 */
import { createExternalUserProfileLoader } from '../src/features/external-user-profiles/loaders.js';
import type { ExternalUserProfileRead, ExternalUserProfileResource, GraphClient } from '../src/upstream/graph.js';
import { selectQuery } from '../src/upstream/graph.js';
import { UpstreamError } from '../src/errors.js';

function fakeGraph(answer: (read: ExternalUserProfileRead) => ExternalUserProfileResource | Error = (r) => ({ id: r.id })) {
  const batches: ExternalUserProfileRead[][] = [];
  const graph = {
    batchGetExternalUserProfiles: async (reads: readonly ExternalUserProfileRead[]) => {
      batches.push([...reads]);
      return reads.map(answer);
    },
  } as unknown as GraphClient;
  return { graph, batches };
}

describe('external user profile loader', () => {
  it('batches the reads of one tick, each with its selection', async () => {
    const { graph, batches } = fakeGraph();
    const loader = createExternalUserProfileLoader(graph);
    await Promise.all([loader.load('a', ['id', 'displayName']), loader.load('a', ['id', 'jobTitle']), loader.load('b', ['id'])]);
    expect(batches).toEqual([[
      { id: 'a', select: ['id', 'displayName'] },
      { id: 'a', select: ['id', 'jobTitle'] },
      { id: 'b', select: ['id'] },
    ]]);
  });

  it('reuses an answer for a selection it covers, and reads again for one it does not', async () => {
    const { graph, batches } = fakeGraph();
    const loader = createExternalUserProfileLoader(graph);
    await loader.load('a', ['id', 'displayName', 'jobTitle']);
    await loader.load('a', ['id', 'jobTitle']);
    expect(batches).toHaveLength(1);
    await loader.load('a', ['id', 'companyName']);
    expect(batches).toHaveLength(2);
    await loader.load('a', ['id', 'companyName']);
    await loader.load('a', ['displayName']);
    expect(batches).toHaveLength(2);
    await loader.load('a', undefined);
    expect(batches).toHaveLength(3);
    await loader.load('a', ['supervisorId']);
    expect(batches).toHaveLength(3);
  });

  it('serves a primed list item only to selections its page covered', async () => {
    const { graph, batches } = fakeGraph();
    const loader = createExternalUserProfileLoader(graph);
    loader.prime({ id: 'a', displayName: 'A' }, ['id', 'displayName']);
    expect(await loader.load('a', ['id', 'displayName'])).toEqual({ id: 'a', displayName: 'A' });
    expect(batches).toHaveLength(0);
    await loader.load('a', ['id', 'displayName', 'address']);
    expect(batches).toEqual([[{ id: 'a', select: ['id', 'displayName', 'address'] }]]);
  });

  it('forgets an id on clear, and never reuses a failed read', async () => {
    let fail = true;
    const { graph, batches } = fakeGraph((r) => (fail ? new UpstreamError({ service: 'graph', serviceName: 'Microsoft Graph', status: 503, message: 'x', correlationId: 'c' }) : { id: r.id }));
    const loader = createExternalUserProfileLoader(graph);
    await expect(loader.load('a', ['id'])).rejects.toBeInstanceOf(UpstreamError);
    fail = false;
    await loader.load('a', ['id']);
    expect(batches).toHaveLength(2);
    loader.clear('a');
    await loader.load('a', ['id']);
    expect(batches).toHaveLength(3);
  });
});

describe('selectQuery', () => {
  it('puts id first once, keeps the order, and leaves out $select for every property', () => {
    expect(selectQuery(['displayName', 'id', 'address', 'displayName'])).toBe('$select=id,displayName,address');
    expect(selectQuery([])).toBe('$select=id');
    expect(selectQuery(undefined)).toBe('');
  });

  it('refuses a name that is not a property name (a programming error, never sent)', () => {
    expect(() => selectQuery(['displayName,jobTitle'])).toThrow(/not a Graph property name/);
    expect(() => selectQuery(['a&$top=1'])).toThrow(/not a Graph property name/);
    expect(() => selectQuery(['address/city'])).toThrow(/not a Graph property name/);
  });
});
