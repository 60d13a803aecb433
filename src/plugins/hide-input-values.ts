/**
 * Apollo plugin: rewrites graphql-js's input coercion messages so no input value is ever echoed in an
 * error (README, Errors). graphql-js prints the offending value into the message: a variable with a
 * typo beside a password (`{ passwordProfile: { password: "…", forceChangePasword: false } }`) came back
 * as `Variable "$i" got invalid value { password: "…", … } at "i.passwordProfile"; Field …`. The rewrite
 * keeps what helps a client fix its request (the variable, the path inside it, the expected type, the
 * unknown or missing field's name) and drops the value.
 *
 * Handled: variable coercion (`Variable "$v" got invalid value …`, BAD_USER_INPUT) and literals in the
 * document (`Expected value of type "T", found …`, and the scalar's or enum's own message such as
 * `String cannot represent a non string value: …`, GRAPHQL_VALIDATION_FAILED). The value-free part is
 * taken from graphql-js's inner error (`originalError`, which Apollo keeps), never parsed out of the
 * printed value; an inner message not known to be value-free is replaced by a generic one.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { messageRewritingPlugin } from './message-rewrite.js';
import type { GraphQLError } from 'graphql';

const NAME = '[_A-Za-z][_0-9A-Za-z]*';
/** A printed type reference (`String!`, `[ID!]`, `PasswordProfileInput`). */
const TYPE = '[_A-Za-z0-9![\\] ]+';
/** graphql-js's path inside a variable (`i.passwordProfile`, `ids[2]`): field names and indexes only. */
const VARIABLE_PATH = new RegExp(` at "(${NAME}(?:\\.${NAME}|\\[\\d+\\])*)"$`);
const VARIABLE_ERROR = new RegExp(`^Variable "\\$(${NAME})" got invalid value `);
const LITERAL_ERROR = new RegExp(`^Expected value of type "(${TYPE})", found `);
const SUGGESTION = / ?Did you mean [^?]*\?$/;

/** Inner messages that name only schema things (and, for unknown fields, a key when it is a GraphQL name). */
const VALUE_FREE: readonly RegExp[] = [
  new RegExp(`^Field "${NAME}" is not defined by type "${NAME}"\\.$`),
  new RegExp(`^Field "${NAME}(?:\\.${NAME})?" of required type "${TYPE}" was not provided\\.$`),
  new RegExp(`^Field "${NAME}(?:\\.${NAME})?" must be non-null\\.$`),
  new RegExp(`^Expected type "${NAME}" to be an object\\.$`),
  new RegExp(`^Exactly one key must be specified for OneOf type "${NAME}"\\.$`),
  new RegExp(`^OneOf Input Object "${NAME}" must specify exactly one key\\.$`),
  new RegExp(`^Expected type "${NAME}"\\.$`),
];

/** The value-free form of graphql-js's inner message (scalar, enum or input object coercion). */
export function valueFreeDetail(inner: string): string {
  const suggestion = SUGGESTION.exec(inner)?.[0] ?? '';
  const message = inner.slice(0, inner.length - suggestion.length);
  if (VALUE_FREE.some((re) => re.test(message))) return message + suggestion;
  // `Expected type "DateTime". <the scalar's own message, which may hold the value>`
  const expected = new RegExp(`^Expected type "(${NAME})"\\. `).exec(message);
  if (expected) return `Expected type "${expected[1]}".`;
  return leafDetail(message, suggestion) ?? 'Not a valid value for its type.';
}

const ENUM_REPRESENT = new RegExp(`^Enum "(${NAME})" cannot represent `);
const ENUM_MISSING = new RegExp(`^Value ".*" does not exist in "(${NAME})" enum\\.$`, 's');
const SCALAR_REPRESENT = new RegExp(`^(${NAME}) cannot represent `);

/** A scalar's or enum's own coercion message (which prints the value), value-free; undefined for others. */
function leafDetail(message: string, suggestion: string): string | undefined {
  const enumName = ENUM_REPRESENT.exec(message)?.[1] ?? ENUM_MISSING.exec(message)?.[1];
  if (enumName) return `Expected a value of enum "${enumName}".${suggestion}`;
  // String/Int/Float/Boolean/ID (and custom scalars in the same style) cannot represent …
  const scalar = SCALAR_REPRESENT.exec(message)?.[1];
  return scalar ? `Expected type "${scalar}".` : undefined;
}

/**
 * The message of `error` without input values, or undefined when it echoes none. `error.originalError`
 * is graphql-js's inner error as Apollo Server keeps it (the error itself when there is no inner one).
 */
export function withoutInputValues(error: Pick<GraphQLError, 'message' | 'originalError'>): string | undefined {
  const { message } = error;
  const variable = VARIABLE_ERROR.exec(message);
  const literal = variable ? null : LITERAL_ERROR.exec(message);
  if (!variable && !literal) {
    // A literal's scalar or enum error, which graphql-js's validation reports as the scalar wrote it.
    const suggestion = SUGGESTION.exec(message)?.[0] ?? '';
    return leafDetail(message.slice(0, message.length - suggestion.length), suggestion);
  }

  const inner = error.originalError?.message;
  // The inner message is the tail after "; " (possibly with its suggestion already removed by the
  // hide-suggestions plugin); without one, there is no detail to keep.
  const tail = inner === undefined || inner === message ? undefined : [inner, inner.replace(SUGGESTION, '')].find((t) => message.endsWith(`; ${t}`));

  if (literal) {
    return tail === undefined ? `Expected value of type "${literal[1]}".` : `Expected value of type "${literal[1]}"; ${valueFreeDetail(tail)}`;
  }
  const head = tail === undefined ? message : message.slice(0, message.length - tail.length - 2);
  const path = tail === undefined ? undefined : VARIABLE_PATH.exec(head)?.[1];
  return `Variable "$${variable![1]}" got an invalid value${path ? ` at "${path}"` : ''}; ${tail === undefined ? 'Not a valid value for its type.' : valueFreeDetail(tail)}`;
}

/** Rewrites every error of a request whose message echoes an input value (see the module comment). */
export function createHideInputValuesPlugin(): ApolloServerPlugin {
  return messageRewritingPlugin(withoutInputValues);
}
