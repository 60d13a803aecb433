/**
 * Tracing of the GraphQL layer: an Apollo plugin opens the operation span of each request (named and
 * given `graphql.operation.type` / `graphql.operation.name` once the operation is resolved, ended with
 * the codes of the response's errors), and each root field's resolver runs inside a span of its own.
 *
 * Apollo's `willResolveField` cannot make a span *active* for the resolver it announces, and upstream
 * tries must nest under their root field, so root fields are wrapped instead: `traceRootFields` wraps the
 * resolvers of `Query` and `Mutation` once per schema object (the schema is built once per process and
 * shared by every gateway in it). A wrapped resolver looks up the operation of its request context, and
 * runs unwrapped when there is none (a gateway without tracing in the same process): one WeakMap lookup.
 * A gateway with tracing off never wraps anything.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { FastifyInstance } from 'fastify';
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Context } from '../../context.js';
import { GatewayError } from '../../errors.js';
import type { OperationTrace, Tracing } from './tracing.js';

/** Options of {@link createTracingPlugin}. */
export interface TracingPluginOptions {
  /** The gateway's tracing. */
  readonly tracing: Tracing;
}

/** The operation of each request context that is traced (keys: Apollo's per-operation context objects). */
const operations = new WeakMap<object, OperationTrace>();
const tracedSchemas = new WeakSet<GraphQLSchema>();

/** The contract code of what a resolver threw (masked errors are INTERNAL_SERVER_ERROR, as the client sees them). */
export function errorCodeOf(error: unknown): string {
  const original = unwrapResolverError(error);
  return original instanceof GatewayError ? original.code : 'INTERNAL_SERVER_ERROR';
}

/** Wraps the root fields' resolvers of `schema` (idempotent) so that traced requests get one span per root field. */
export function traceRootFields(schema: GraphQLSchema): void {
  if (tracedSchemas.has(schema)) return;
  tracedSchemas.add(schema);
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, contextValue, info) => {
        const operation = typeof contextValue === 'object' && contextValue !== null ? operations.get(contextValue) : undefined;
        if (!operation) return resolve(source, args, contextValue, info);
        return operation.runRootField(
          { parentType: info.parentType.name, fieldName: info.fieldName, responseKey: String(info.path.key) },
          () => resolve(source, args, contextValue, info),
          errorCodeOf,
        );
      };
    }
  }
}

/** The HTTP server span of each request (its route pattern once Fastify has routed it). */
export function registerHttpTracing(app: FastifyInstance, options: TracingPluginOptions): void {
  const { tracing } = options;
  tracing.instrumentServer(app.server);
  app.addHook('onResponse', async (request) => tracing.setRoute(request.raw, request.routeOptions.url));
}

/** Apollo plugin: the operation span of each request. */
export function createTracingPlugin(options: TracingPluginOptions): ApolloServerPlugin<Context> {
  const { tracing } = options;
  return {
    async requestDidStart({ contextValue }) {
      const operation = tracing.startOperation();
      // Not sampled: no hooks, and the root fields run unwrapped.
      if (!operation) return undefined;
      operations.set(contextValue, operation);
      return {
        async didResolveOperation({ operation: document, operationName }) {
          if (document) operation.setOperation(document.operation, operationName ?? undefined);
        },
        async willSendResponse({ response }) {
          const body = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          const codes = (body.errors ?? []).map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          operation.end(codes);
        },
      };
    },
  };
}
