/**
 * Apollo plugin: removes graphql-js's "Did you mean ...?" sentences from every error message of a
 * request (validation, variable coercion, execution), so a caller cannot discover field, argument, type
 * or enum-value names by guessing while introspection is off. Used in production (`query-limits.ts`).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { messageRewritingPlugin } from './message-rewrite.js';

/** One suggestion sentence, in graphql-js's field, argument, type and enum-value forms. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

export function createHideSuggestionsPlugin(): ApolloServerPlugin {
  return messageRewritingPlugin((error) => (error.message.includes('Did you mean') ? error.message.replace(SUGGESTION, '') : undefined));
}
