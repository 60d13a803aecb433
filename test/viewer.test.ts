import { ALL_GATEWAY_SCOPES } from '../src/emulator/index.js';
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

  it("lists no permission for a personal Microsoft account, whatever its token holds: every field refuses it", async () => {
    const token = await stack.mint({ msa: true, scp: ALL_GATEWAY_SCOPES });
    const { body } = await stack.graphql('{ viewer { authenticated personalAccount permissions } }', undefined, { token });
    expect(body.data?.viewer).toEqual({ authenticated: true, personalAccount: true, permissions: [] });
    // What the list promises: each field it would name refuses this caller.
    const refused = await stack.graphql('{ supportProfile { id } }', undefined, { token });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lists for an app-only caller only what app-only callers can use (Partner Center takes App+User tokens only)', async () => {
    const token = await stack.mint({ roles: ['SupportProfile.Read', 'ExternalUserProfile.ReadWrite.All'] });
    const { body } = await stack.graphql('{ viewer { kind permissions } }', undefined, { token });
    expect(body.data?.viewer).toEqual({ kind: 'APPLICATION', permissions: ['ExternalUserProfile.Read.All', 'ExternalUserProfile.ReadWrite.All'] });
  });

  it('refuses an invalid token with UNAUTHENTICATED, even for viewer', async () => {
    const response = await stack.graphql('{ viewer { authenticated } }', undefined, { token: 'not.a.jwt' });
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
