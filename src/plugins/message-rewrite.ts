/**
 * What the plugins that clean error messages share: an Apollo plugin that hands every error of a request
 * to `rewrite` and takes its answer as the new message (`undefined` leaves the message as it is). Used by
 * hide-document-text.ts, hide-input-values.ts and hide-suggestions.ts, each one rule.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';

export function messageRewritingPlugin(rewrite: (error: GraphQLError) => string | undefined): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const rewritten = rewrite(error);
            if (rewritten !== undefined) error.message = rewritten;
          }
        },
      };
    },
  };
}
