/**
 * Request metrics (README, Observability): `gateway_http_request_duration_seconds` from a Fastify
 * `onResponse` hook, `gateway_graphql_operations_total` from an Apollo plugin, and
 * `gateway_graphql_errors_total` from the error formatter, which sees every error of every response
 * (including those raised before Apollo's request pipeline, such as a refused token). The registry and
 * the bounding of label values are in `metrics.ts`.
 */
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import type { Context } from '../../context.js';
import type { GatewayMetrics, OperationOutcome } from './metrics.js';

/** Options of the request-metrics parts. */
export interface MetricsPluginOptions {
  /** Where to record. */
  readonly metrics: GatewayMetrics;
}

/** Apollo plugin: one `gateway_graphql_operations_total` count per answered operation. */
export function createMetricsPlugin(options: MetricsPluginOptions): ApolloServerPlugin<Context> {
  const { metrics } = options;
  // One listener for every request: it keeps no per-request state (the request context has it all).
  const listener: GraphQLRequestListener<Context> = {
    async willSendResponse({ response, operation, operationName }) {
      let outcome: OperationOutcome = 'success';
      if (response.body.kind === 'single') {
        const { errors, data } = response.body.singleResult;
        if (errors?.length) outcome = data ? 'partial' : 'error';
      } else if (response.body.initialResult.errors?.length) {
        outcome = response.body.initialResult.data ? 'partial' : 'error';
      }
      // Before the operation is resolved (a parse or validation failure) its type and name are unknown.
      metrics.operation(operation?.operation, operationName ?? undefined, outcome);
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}

/** Wraps Apollo's `formatError` so that each formatted error counts once by its code. */
export function countingFormatError(
  metrics: GatewayMetrics,
  format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const result = format(formatted, error);
    metrics.graphqlError(result.extensions?.code);
    return result;
  };
}

/** Fastify hook: one `gateway_http_request_duration_seconds` observation per answered request. */
export function registerHttpMetrics(app: FastifyInstance, options: MetricsPluginOptions): void {
  const { metrics } = options;
  app.addHook('onResponse', async (request, reply) => {
    // routeOptions.url is the route pattern (`/graphql`, `/explorer/*`), undefined when no route matched.
    metrics.httpRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
}
