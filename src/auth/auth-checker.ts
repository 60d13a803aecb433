/**
 * type-graphql glue for the permission table: the `authChecker` behind `@Authorized()`, the safety net
 * that enforces the table on every root field even where `@Authorized()` was forgotten, and the schema
 * walk the schema test uses to prove every root field has an entry.
 */
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { AuthCheckerFn } from 'type-graphql';
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
 * The safety net, installed by `src/schema.ts` on the built schema: every Query/Mutation field's resolver
 * is wrapped so the table row of the field is applied before it runs, whether or not it has
 * `@Authorized()`. A resolver author who forgets the decorator still cannot ship an unchecked operation;
 * a root field without a row fails closed (`requirePermission`).
 *
 * Only root fields are wrapped, once, after the build: fields below the root keep their resolvers
 * untouched and pay nothing (a type-graphql global middleware would make every field of every object
 * async, type-graphql's own performance notes measure it 4x slower on large lists). A wrapped resolver
 * stays synchronous: the check throws before the original runs, and graphql-js turns that into the
 * field's error. Returns the same schema, changed in place.
 */
export function enforcePermissionsOnRootFields<S extends GraphQLSchema>(schema: S): S {
  for (const type of rootTypes(schema)) {
    for (const field of Object.values(type.getFields())) {
      const resolve: GraphQLFieldResolver<unknown, AuthContext> = field.resolve ?? defaultFieldResolver;
      const operation = field.name;
      field.resolve = (root, args, context: AuthContext, info) => {
        requirePermission(context.principal, operation);
        return resolve(root, args, context, info);
      };
    }
  }
  return schema;
}

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
