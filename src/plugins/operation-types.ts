/**
 * Validation rule: an operation whose type the schema does not have (`subscription`: the gateway has no
 * Subscription type) is refused at validation, `GRAPHQL_VALIDATION_FAILED` with HTTP 400 (README,
 * Errors). graphql-js validates such a document as fine and only its executor refuses it ("Schema is not
 * configured to execute subscription operation"), which Apollo Server answered HTTP 200
 * `INTERNAL_SERVER_ERROR` and logged as an unexpected error with its stack: anyone, without a token,
 * could fill the error log. A refusal at validation is a client error, not logged as a server one.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext, type ValidationRule } from 'graphql';

export const KnownOperationTypesRule: ValidationRule = (context: ValidationContext): ASTVisitor => ({
  OperationDefinition(node) {
    if (context.getSchema().getRootType(node.operation)) return;
    context.reportError(new GraphQLError(`This schema has no ${node.operation} operations.`, { nodes: node }));
  },
});
