/**
 * type-graphql glue for the permission table: the `authChecker` behind `@Authorized()`, a global
 * middleware that enforces the table even where `@Authorized()` was forgotten, and the schema walk the
 * schema test uses to prove every root field has an entry.
 */
import type { GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { AuthCheckerFn, MiddlewareFn } from 'type-graphql';
import { AuthenticationError, ForbiddenError } from '../errors.js';
import { OPERATION_PERMISSIONS, requirePermission } from './permissions.js';
import type { Principal } from './principal.js';

/** What the auth checker needs from the request context; the gateway's `Context` has it. */
export interface AuthContext {
  readonly principal: Principal | null;
}

function isRootField(info: GraphQLResolveInfo): boolean {
  const { parentType, schema } = info;
  return parentType === schema.getQueryType() || parentType === schema.getMutationType();
}

/**
 * The `authChecker` for `buildSchema`. On a Query/Mutation field it applies the table row of
 * `info.fieldName` and throws our `AuthenticationError`/`ForbiddenError` itself, so the client sees our
 * code and the permission name rather than type-graphql's generic "Access denied!". Roles passed to
 * `@Authorized(...)` are ignored there: the table is the one source of truth.
 *
 * On a field of another type (a class-level `@Authorized()` also covers `@FieldResolver`s) its root field
 * was already checked, so it passes; roles given there must all be held.
 */
export const authChecker: AuthCheckerFn<AuthContext> = ({ context, info }, roles) => {
  if (isRootField(info)) {
    requirePermission(context.principal, info.fieldName);
    return true;
  }
  const field = `${info.parentType.name}.${info.fieldName}`;
  for (const role of roles) {
    if (!context.principal) throw new AuthenticationError(`${field} requires authentication`);
    if (!context.principal.permissions.has(role)) throw new ForbiddenError(`${field} needs the ${role} permission`, role);
  }
  return true;
};

/**
 * A global type-graphql middleware (`buildSchema({ globalMiddlewares: [enforcePermissions] })`) that applies
 * the table to every Query/Mutation field whether or not it has `@Authorized()`. Belt and braces: a
 * resolver author who forgets the decorator still cannot ship an unchecked operation.
 */
export const enforcePermissions: MiddlewareFn<AuthContext> = async ({ context, info }, next) => {
  if (isRootField(info)) requirePermission(context.principal, info.fieldName);
  return next();
};

/**
 * Query and Mutation fields missing from `OPERATION_PERMISSIONS`, as `Type.field`. The schema test asserts
 * this is empty, so adding a resolver without a permission entry fails the build.
 */
export function findFieldsWithoutPermission(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of rootTypes(schema)) {
    for (const field of Object.keys(type.getFields())) {
      if (!Object.hasOwn(OPERATION_PERMISSIONS, field)) missing.push(`${type.name}.${field}`);
    }
  }
  return missing;
}

/** Table entries with no Query/Mutation field of that name: stale rows, or a typo that protects nothing. */
export function findPermissionsWithoutField(schema: GraphQLSchema): string[] {
  const fields = new Set(rootTypes(schema).flatMap((type) => Object.keys(type.getFields())));
  return Object.keys(OPERATION_PERMISSIONS).filter((operation) => !fields.has(operation));
}

function rootTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return [schema.getQueryType(), schema.getMutationType()].filter((t): t is GraphQLObjectType => t != null);
}
