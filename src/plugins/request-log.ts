/**
 * Apollo plugin: records the operation's name and type for the one request log line (written by the
 * Fastify `onResponse` hook), and logs every error that will be masked as INTERNAL_SERVER_ERROR with
 * its detail, under the request's correlation id, since the client only sees the code.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Context } from '../context.js';
import { GatewayError } from '../errors.js';
import { isUncodedClientError } from './format-error.js';

export function createRequestLoggingPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operationName, operation }) {
          contextValue.operation.operationName = operationName ?? undefined;
          contextValue.operation.operationType = operation?.operation;
        },
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (original instanceof GatewayError) {
              contextValue.log.debug({ code: original.code, path: error.path, msg: original.message }, 'gateway error');
            } else if (isUncodedClientError(error)) {
              contextValue.log.debug({ code: 'BAD_REQUEST', msg: error.message }, 'bad request');
            } else if (!error.extensions?.code || error.extensions.code === 'INTERNAL_SERVER_ERROR') {
              contextValue.log.error({ err: original, path: error.path }, 'unexpected error (masked as INTERNAL_SERVER_ERROR)');
            }
          }
        },
      };
    },
  };
}
