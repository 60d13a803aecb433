/**
 * Builds the type-graphql schema once per process, with the permission net on its root fields.
 * `schema-cli.ts` prints it to `schema/schema.graphql` (sorted, stable); a test fails when the committed
 * file is stale.
 */
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { DateTimeScalar } from './features/shared/date-time.js';
import { buildSchema, type BuildSchemaOptions } from 'type-graphql';
import { authChecker, enforcePermissionsOnRootFields } from './auth/auth-checker.js';
import { validateInputArgument } from './features/shared/validate-input.js';
import { ViewerResolver } from './features/viewer/resolver.js';
import { SupportProfileResolver } from './features/support-profile/resolver.js';
import { CustomerUserResolver } from './features/customer-users/resolver.js';
import { ExternalUserProfileResolver } from './features/external-user-profiles/resolver.js';

/** Every resolver class; each Query/Mutation field must have a row in the permission table. */
export const RESOLVERS = [ViewerResolver, SupportProfileResolver, CustomerUserResolver, ExternalUserProfileResolver] as const;

let built: Promise<GraphQLSchema> | undefined;

/** The gateway's schema (built once; building is slow and the result is immutable). */
export function buildGatewaySchema(): Promise<GraphQLSchema> {
  return (built ??= buildSchemaFrom(RESOLVERS));
}

/**
 * Builds a schema of these resolver classes the way the gateway does: `@Authorized()` through the
 * table, input validation, and the permission net on every Query/Mutation field
 * (`enforcePermissionsOnRootFields`), so a root field without `@Authorized()` is still checked.
 */
export async function buildSchemaFrom(resolvers: BuildSchemaOptions['resolvers']): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers,
    authChecker,
    // Date-times stay ISO strings end to end; the contract names the scalar `DateTime`.
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validateFn: validateInputArgument,
  });
  return enforcePermissionsOnRootFields(schema);
}

/** The SDL as committed in `schema/schema.graphql`: sorted so the file is stable across builds. */
export function printGatewaySchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
