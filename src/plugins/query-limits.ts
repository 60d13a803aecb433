/**
 * Hostile-query limits (README, Hardening), checked before execution so a refused request never reaches
 * a resolver or an upstream: depth, aliases, directives and cost through `@escape.tech/graphql-armor`'s
 * validation rules, tokens through graphql-js's own parser limit, and field suggestions hidden in
 * production.
 *
 * Three choices differ from armor's defaults, on purpose:
 * - Tokens are counted by graphql-js's `parse(source, { maxTokens })`, not by armor's Apollo token plugin:
 *   that plugin throws from `parsingDidStart`, which Apollo Server treats as an unexpected error (HTTP 500),
 *   while graphql-js's limit raises a syntax error that Apollo answers `GRAPHQL_PARSE_FAILED` with HTTP 400.
 * - Rejections are reported through our own callback rather than armor's, so the message does not start
 *   with armor's misleading "Syntax Error:" and says which limit was hit. Apollo wraps every validation
 *   error as `GRAPHQL_VALIDATION_FAILED` with HTTP 400.
 * - Suggestions are removed by our own small plugin (`hide-suggestions-plugin.ts`): armor's
 *   `blockFieldSuggestion` only masks the `Did you mean "x"?` form, and lets through graphql-js's enum
 *   form in variable errors (`Did you mean the enum value "ACTIVE"?`), which would reveal enum values
 *   with introspection off.
 *
 * Introspection through `__schema` (what GraphiQL, Ruru, Sandbox and codegen send) is exempt from depth
 * and cost, so the explorer works with the default limits; it still counts for tokens, aliases and
 * directives. Introspection itself is off in production unless `INTROSPECTION=true`.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type { QueryLimits } from '../config.js';
import { createHideSuggestionsPlugin } from './hide-suggestions.js';

export interface QueryLimitsOptions {
  /** The configured limits (`config.limits`); `maxBodyBytes` is Fastify's, not used here. */
  readonly limits: QueryLimits;
  /**
   * Remove "Did you mean ...?" suggestions from every error message, which would otherwise let a caller
   * discover the schema with introspection off.
   * @default false
   */
  readonly hideSuggestions?: boolean;
}

/** What Apollo Server needs to enforce the limits: spread into its constructor options. */
export interface QueryLimitsSetup {
  readonly validationRules: ValidationRule[];
  readonly plugins: ApolloServerPlugin[];
  readonly parseOptions: ParseOptions;
}

/** Reports a refusal as a plain validation error naming the limit (Apollo adds the code and HTTP 400). */
function reject(limit: string): (context: ValidationContext | null, error: GraphQLError) => void {
  return (context, error) => {
    context?.reportError(
      new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { limit } }),
    );
  };
}

/** The same callback settings for every armor rule: report through the validation context, never throw. */
const report = (limit: string) => ({ propagateOnRejection: false, onReject: [reject(limit)] });

/** Builds the validation rules, plugins and parse options that enforce `limits`. */
export function createQueryLimits(options: QueryLimitsOptions): QueryLimitsSetup {
  const { limits, hideSuggestions = false } = options;
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, ...report('depth') },
    // armor lets `__typename` be aliased freely by default; every alias counts here, as the README says.
    maxAliases: { n: limits.maxAliases, allowList: [], ...report('aliases') },
    maxDirectives: { n: limits.maxDirectives, ...report('directives') },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, ...report('cost') },
    // Counted by graphql-js's parser instead (see the module comment).
    maxTokens: { enabled: false },
    // Replaced by createHideSuggestionsPlugin (see the module comment).
    blockFieldSuggestion: { enabled: false },
  });
  const { validationRules, plugins } = armor.protect();
  return {
    validationRules,
    // armor is a CommonJS package typed against @apollo/server's CommonJS declarations; the plugin
    // objects are plain hook tables, identical for the ESM build we run.
    plugins: [...(plugins as unknown as ApolloServerPlugin[]), ...(hideSuggestions ? [createHideSuggestionsPlugin()] : [])],
    parseOptions: { maxTokens: limits.maxTokens },
  };
}
