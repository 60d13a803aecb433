/**
 * Introspection off (the default in production, `INTROSPECTION`): Apollo Server's own rule refuses it
 * with a message that tells the caller to "pass introspection: true to ApolloServer", a setting no
 * operator of this gateway has. This rule refuses the same fields (`__schema`, `__type`; `__typename`
 * stays allowed) with the same validation code, and names the setting that exists.
 */
import { ApolloServerValidationErrorCode } from '@apollo/server/errors';
import { GraphQLError, type ValidationRule } from 'graphql';

/** The refusal's message: names `INTROSPECTION=true`, never anything of the document. */
export const INTROSPECTION_OFF_MESSAGE =
  'Introspection is off on this gateway (the default in production): its operator can turn it on with INTROSPECTION=true';

/** A validation rule that refuses introspection fields (Apollo answers it `GRAPHQL_VALIDATION_FAILED`, HTTP 400). */
export const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        new GraphQLError(INTROSPECTION_OFF_MESSAGE, {
          nodes: [node],
          extensions: { validationErrorCode: ApolloServerValidationErrorCode.INTROSPECTION_DISABLED },
        }),
      );
    }
  },
});
