import { startStackForFile } from './helpers/stack.js';

describe('viewer', () => {
  const stack = startStackForFile();

  it('answers viewer without a token as not authenticated', async () => {
    const response = await stack.graphql('{ viewer { authenticated permissions personalAccount kind } }', undefined, { token: null });
    expect(response.body).toEqual({ data: { viewer: { authenticated: false, permissions: [], personalAccount: false, kind: null } } });
  });

  it('answers viewer with the caller, implied Read permissions included', async () => {
    const response = await stack.graphql('{ viewer { authenticated kind tenantId permissions } }');
    expect(response.body.data?.viewer).toMatchObject({ authenticated: true, kind: 'DELEGATED' });
    expect(response.body.data?.viewer.permissions).toEqual(
      expect.arrayContaining(['SupportProfile.Read', 'SupportProfile.ReadWrite', 'ExternalUserProfile.Read.All']),
    );
  });

  it('refuses an invalid token with UNAUTHENTICATED, even for viewer', async () => {
    const response = await stack.graphql('{ viewer { authenticated } }', undefined, { token: 'not.a.jwt' });
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
