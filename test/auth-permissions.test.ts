import { buildSchema as buildSdlSchema, graphql, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { AuthenticationError, ForbiddenError } from '../src/errors.js';
import { Query, Resolver } from 'type-graphql';
import { authChecker, enforcePermissionsOnRootFields, findFieldsWithoutPermission, findPermissionsWithoutField } from '../src/auth/auth-checker.js';
import { buildSchemaFrom } from '../src/schema.js';
import { OPERATION_PERMISSIONS, requirePermission } from '../src/auth/permissions.js';
import { expandPermissions, PERSONAL_ACCOUNT_TENANT_ID, type Principal, type PrincipalKind } from '../src/auth/principal.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function principal(kind: PrincipalKind, permissions: string[], tenantId = TENANT): Principal {
  return {
    tenantId,
    objectId: '00000000-0000-0000-0000-0000000000aa',
    kind,
    permissions: expandPermissions(permissions),
    personalAccount: tenantId === PERSONAL_ACCOUNT_TENANT_ID,
    token: 'not-a-real-token',
    expiresAt: Date.now() + 3600_000,
  };
}

/** The contract's table (docs/permissions.md), restated independently of the implementation. */
const CONTRACT: Array<[operation: string, permission: string, appOnlyAllowed: boolean]> = [
  ['supportProfile', 'SupportProfile.Read', false],
  ['updateSupportProfile', 'SupportProfile.ReadWrite', false],
  ['customerUser', 'CustomerUser.Read.All', false],
  ['customerUsers', 'CustomerUser.Read.All', false],
  ['updateCustomerUser', 'CustomerUser.ReadWrite.All', false],
  ['externalUserProfile', 'ExternalUserProfile.Read.All', true],
  ['externalUserProfiles', 'ExternalUserProfile.Read.All', true],
  ['updateExternalUserProfile', 'ExternalUserProfile.ReadWrite.All', true],
];

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('permission table', () => {
  it('has exactly the contract operations plus the public viewer', () => {
    expect(Object.keys(OPERATION_PERMISSIONS).sort()).toEqual([...CONTRACT.map(([op]) => op), 'viewer'].sort());
    expect(OPERATION_PERMISSIONS.viewer).toEqual({ public: true });
  });

  describe.each(CONTRACT)('%s', (operation, permission, appOnlyAllowed) => {
    it(`allows a delegated caller holding ${permission}`, () => {
      expect(() => requirePermission(principal('delegated', [permission]), operation)).not.toThrow();
    });

    it('allows a caller holding the ReadWrite permission that implies it', () => {
      const implying = permission.replace('.Read', '.ReadWrite').replace('.ReadWriteWrite', '.ReadWrite');
      expect(() => requirePermission(principal('delegated', [implying]), operation)).not.toThrow();
    });

    it('refuses without a principal: UNAUTHENTICATED', () => {
      const error = thrown(() => requirePermission(null, operation));
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).code).toBe('UNAUTHENTICATED');
    });

    it('refuses a delegated caller lacking the permission, naming it', () => {
      const others = CONTRACT.map(([, p]) => p).filter((p) => !expandPermissions([p]).has(permission));
      const error = thrown(() => requirePermission(principal('delegated', others), operation));
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).code).toBe('FORBIDDEN');
      expect((error as ForbiddenError).message).toContain(permission);
      expect((error as ForbiddenError).extensions()).toEqual({ requiredPermission: permission });
    });

    if (appOnlyAllowed) {
      it('allows an application caller holding the role', () => {
        expect(() => requirePermission(principal('application', [permission]), operation)).not.toThrow();
      });
      it('refuses an application caller lacking the role', () => {
        const error = thrown(() => requirePermission(principal('application', []), operation));
        expect(error).toBeInstanceOf(ForbiddenError);
        expect((error as ForbiddenError).message).toContain(permission);
      });
    } else {
      it('refuses an app-only caller even holding the permission (Partner Center is App+User only)', () => {
        const error = thrown(() => requirePermission(principal('application', [permission]), operation));
        expect(error).toBeInstanceOf(ForbiddenError);
        expect((error as ForbiddenError).message).toContain(permission);
        expect((error as ForbiddenError).message).toMatch(/App\+User|signed-in user/);
      });
    }

    it('refuses a personal Microsoft account even holding the permission', () => {
      const error = thrown(() => requirePermission(principal('delegated', [permission], PERSONAL_ACCOUNT_TENANT_ID), operation));
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).message).toContain(permission);
      expect((error as ForbiddenError).message).toMatch(/personal/);
    });
  });

  it('lets anyone, even without a token, call viewer', () => {
    expect(() => requirePermission(null, 'viewer')).not.toThrow();
    expect(() => requirePermission(principal('application', []), 'viewer')).not.toThrow();
  });

  it('throws a programming error for an operation missing from the table', () => {
    const error = thrown(() => requirePermission(principal('delegated', ['SupportProfile.ReadWrite']), 'deleteEverything'));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toContain('deleteEverything');
    expect(thrown(() => requirePermission(null, 'toString'))).toBeInstanceOf(Error);
  });
});

describe('auth checker', () => {
  const schema = buildSdlSchema(`
    type Viewer { authenticated: Boolean! }
    type SupportProfile { id: ID! email: String }
    type Query { viewer: Viewer! supportProfile: SupportProfile! }
    type Mutation { updateSupportProfile(email: String): SupportProfile! }
  `);
  const infoFor = (typeName: 'Query' | 'Mutation' | 'SupportProfile', fieldName: string) =>
    ({ fieldName, parentType: schema.getType(typeName), schema }) as unknown as GraphQLResolveInfo;

  it('applies the table row of the root field and returns true when allowed', () => {
    const context = { principal: principal('delegated', ['SupportProfile.ReadWrite']) };
    expect(authChecker({ root: undefined, args: {}, context, info: infoFor('Query', 'supportProfile') }, [])).toBe(true);
    expect(authChecker({ root: undefined, args: {}, context, info: infoFor('Mutation', 'updateSupportProfile') }, [])).toBe(true);
  });

  it('throws our errors rather than answering false', () => {
    expect(() => authChecker({ root: undefined, args: {}, context: { principal: null }, info: infoFor('Query', 'supportProfile') }, [])).toThrow(AuthenticationError);
    const context = { principal: principal('delegated', ['SupportProfile.Read']) };
    expect(() => authChecker({ root: undefined, args: {}, context, info: infoFor('Mutation', 'updateSupportProfile') }, [])).toThrow(ForbiddenError);
  });

  it('lets nested fields through unless they name roles the caller lacks', () => {
    const context = { principal: principal('delegated', ['SupportProfile.Read']) };
    expect(authChecker({ root: {}, args: {}, context, info: infoFor('SupportProfile', 'email') }, [])).toBe(true);
    expect(() => authChecker({ root: {}, args: {}, context, info: infoFor('SupportProfile', 'email') }, ['Secret.Read'])).toThrow(ForbiddenError);
  });

  it('the net enforces the table on root fields even without @Authorized, and leaves nested fields untouched', async () => {
    const netted = enforcePermissionsOnRootFields(buildSdlSchema(`
      type SupportProfile { id: ID! email: String }
      type Query { supportProfile: SupportProfile! }
    `));
    let calls = 0;
    const rootValue = {
      supportProfile: () => {
        calls++;
        return { id: '1', email: 'a@b.c' };
      },
    };
    const refused = await graphql({ schema: netted, source: '{ supportProfile { id } }', rootValue, contextValue: { principal: principal('delegated', []) } });
    expect(refused.errors?.[0]?.originalError).toBeInstanceOf(ForbiddenError);
    expect(calls).toBe(0);
    const allowed = await graphql({ schema: netted, source: '{ supportProfile { email } }', rootValue, contextValue: { principal: principal('delegated', ['SupportProfile.Read']) } });
    expect(allowed).toEqual({ data: { supportProfile: { email: 'a@b.c' } } });
    // Below the root nothing is wrapped: no per-field cost.
    expect((netted.getType('SupportProfile') as GraphQLObjectType).getFields().email!.resolve).toBeUndefined();
  });

  it('finds root fields without a table entry, and entries without a field', () => {
    expect(findFieldsWithoutPermission(schema)).toEqual([]);
    const grown = buildSdlSchema(`
      type Query { viewer: Boolean secretReport: String }
      type Mutation { deleteEverything: Boolean }
    `);
    expect(findFieldsWithoutPermission(grown)).toEqual(['Query.secretReport', 'Mutation.deleteEverything']);
    expect(findPermissionsWithoutField(schema).sort()).toEqual(CONTRACT.map(([op]) => op).filter((op) => op !== 'supportProfile' && op !== 'updateSupportProfile').sort());
  });

  it('surfaces FORBIDDEN through graphql execution with the permission named', async () => {
    const result = await graphql({
      schema,
      source: '{ supportProfile { id } }',
      contextValue: { principal: principal('application', ['SupportProfile.Read']) },
      fieldResolver: (_root, _args, context, info) => {
        authChecker({ root: _root, args: _args, context, info }, []);
        return { id: '1' };
      },
    });
    expect(result.errors?.[0]?.originalError).toBeInstanceOf(ForbiddenError);
    expect(result.errors?.[0]?.message).toContain('SupportProfile.Read');
  });
});

describe('permission net on the gateway schema', () => {
  let resolved = 0;
  /** A resolver whose author forgot `@Authorized()` on both fields. */
  @Resolver()
  class ForgetfulResolver {
    @Query(() => String)
    supportProfile(): string {
      resolved++;
      return 'leaked';
    }

    @Query(() => String)
    secretReport(): string {
      resolved++;
      return 'leaked';
    }
  }

  it('refuses a root field without @Authorized, built as the gateway builds its schema', async () => {
    const schema = await buildSchemaFrom([ForgetfulResolver]);
    const run = (source: string, contextValue: { principal: Principal | null }) => graphql({ schema, source, contextValue });
    const anonymous = await run('{ supportProfile }', { principal: null });
    expect(anonymous.errors?.[0]?.originalError).toBeInstanceOf(AuthenticationError);
    const unprivileged = await run('{ supportProfile }', { principal: principal('delegated', ['CustomerUser.Read.All']) });
    expect(unprivileged.errors?.[0]?.originalError).toBeInstanceOf(ForbiddenError);
    // A root field with no row in the table fails closed, whoever asks.
    const unlisted = await run('{ secretReport }', { principal: principal('delegated', ['SupportProfile.ReadWrite']) });
    expect(unlisted.errors?.[0]?.message).toContain('no permission entry');
    expect(resolved).toBe(0);
    // With the permission, the same field resolves: the net applies the table, nothing more.
    expect(await run('{ supportProfile }', { principal: principal('delegated', ['SupportProfile.Read']) })).toEqual({ data: { supportProfile: 'leaked' } });
  });
});
