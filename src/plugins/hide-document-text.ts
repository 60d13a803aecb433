/**
 * Apollo plugin: request-level messages never quote what the client wrote (README, Errors).
 * graphql-js prints the offending token into its syntax errors (`Expected Name, found String
 * "Hunter2-S3cret!Pw"`, `Unexpected Name "…"`, `Unexpected character: "…"`, `Invalid character escape
 * sequence: "\q"`), and Apollo Server the `operationName` it could not find (`Unknown operation named
 * "…"`). A document that fails to parse may be a password pasted in the wrong place, and whatever is
 * echoed ends up in browser consoles, proxies and error trackers.
 *
 * Each message is rebuilt from the kind of mistake alone (which token kind was expected and which was
 * found, which character class was wrong); the position stays in the error's `locations`, so a
 * developer still sees where and what. A syntax message of a form not known here becomes a generic one
 * rather than passing through. Validation and coercion messages are hide-input-values.ts's concern.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { messageRewritingPlugin } from './message-rewrite.js';
import type { GraphQLError } from 'graphql';

const SYNTAX_PREFIX = 'Syntax Error: ';

/** graphql-js token kinds that carry a value (printed after the kind, quoted). */
const VALUE_KINDS = '(Name|Int|Float|String|BlockString|Comment)';
/** Token kinds without a value: the ends of the document and the punctuators, as graphql-js prints them. */
const BARE_TOKEN = '(<EOF>|<SOF>|"(?:[!$&():=@[\\]{|}?]|\\.\\.\\.)")';
/** A token as graphql-js describes it (`getTokenDesc`): its kind, then its value quoted for value kinds. */
const TOKEN = `(?:${VALUE_KINDS}(?: "[\\s\\S]*")?|${BARE_TOKEN})`;
/** What the parser expected: a token kind, or one of its own keywords (`"on"`, `"fragment"`). */
const EXPECTED = `((?:Name|Int|Float|String|BlockString|<EOF>)|"(?:[!$&():=@[\\]{|}?]|\\.\\.\\.)"|"[A-Za-z]+")`;

const EXPECTED_FOUND = new RegExp(`^Expected ${EXPECTED}, found ${TOKEN}\\.$`);
const UNEXPECTED_TOKEN = new RegExp(`^Unexpected ${TOKEN}\\.$`);
const UNEXPECTED_VARIABLE = /^Unexpected variable "\$[_A-Za-z][_0-9A-Za-z]*" in constant value\.$/;

/** Lexer messages that end by printing the character or escape sequence: kept up to the colon. */
const LEXER_QUOTING: ReadonlyArray<readonly [RegExp, string]> = [
  [/^Unexpected character: [\s\S]*\.$/, 'Unexpected character.'],
  [/^Invalid character: [\s\S]*\.$/, 'Invalid character.'],
  [/^Invalid number, unexpected digit after 0: [\s\S]*\.$/, 'Invalid number, unexpected digit after 0.'],
  [/^Invalid number, expected digit but got: [\s\S]*\.$/, 'Invalid number, expected a digit.'],
  [/^Invalid character within String: [\s\S]*\.$/, 'Invalid character within String.'],
  [/^Invalid Unicode escape sequence: [\s\S]*\.$/, 'Invalid Unicode escape sequence.'],
  [/^Invalid character escape sequence: [\s\S]*\.$/, 'Invalid character escape sequence.'],
];

/** Syntax messages that quote nothing of the document. */
const VALUE_FREE: readonly RegExp[] = [
  /^Unterminated string\.$/,
  /^Unexpected single quote character \('\), did you mean to use a double quote \("\)\?$/,
  /^Unexpected description, (?:descriptions are not supported on shorthand queries|only GraphQL definitions support descriptions)\.$/,
  /^Document contains more tha[nt] \d+ (?:tokens|comments)\. Parsing aborted\.$/,
  /^Source contains more than \d+ UTF-16 code units\. Parsing aborted\.$/,
];

/** What a syntax error is reduced to when its form is not one of the above. */
export const GENERIC_SYNTAX_MESSAGE = `${SYNTAX_PREFIX}the document is not valid GraphQL.`;

/**
 * The value-free form of a graphql-js syntax error message (`Syntax Error: …`): the kinds of the
 * expected and found tokens, or the class of the wrong character, never the text itself.
 */
export function valueFreeSyntaxMessage(message: string): string {
  if (!message.startsWith(SYNTAX_PREFIX)) return GENERIC_SYNTAX_MESSAGE;
  const description = message.slice(SYNTAX_PREFIX.length);
  const expected = EXPECTED_FOUND.exec(description);
  if (expected) return `${SYNTAX_PREFIX}Expected ${expected[1]}, found ${expected[2] ?? expected[3]}.`;
  const unexpected = UNEXPECTED_TOKEN.exec(description);
  if (unexpected) return `${SYNTAX_PREFIX}Unexpected ${unexpected[1] ?? unexpected[2]}.`;
  if (UNEXPECTED_VARIABLE.test(description)) return `${SYNTAX_PREFIX}Unexpected variable in constant value.`;
  for (const [pattern, replacement] of LEXER_QUOTING) if (pattern.test(description)) return `${SYNTAX_PREFIX}${replacement}`;
  if (VALUE_FREE.some((pattern) => pattern.test(description))) return message;
  return GENERIC_SYNTAX_MESSAGE;
}

/** Apollo's message for an `operationName` the document does not define, without the name. */
export const UNKNOWN_OPERATION_MESSAGE = 'Unknown operation named in operationName: the document has no operation of that name.';

/** The message of `error` without any text the client wrote, or undefined when it quotes none. */
export function withoutDocumentText(error: Pick<GraphQLError, 'message' | 'extensions'>): string | undefined {
  const code = error.extensions?.code;
  if (code === 'GRAPHQL_PARSE_FAILED') {
    const rewritten = valueFreeSyntaxMessage(error.message);
    return rewritten === error.message ? undefined : rewritten;
  }
  if (code === 'OPERATION_RESOLUTION_FAILURE' && error.message.startsWith('Unknown operation named "')) return UNKNOWN_OPERATION_MESSAGE;
  return undefined;
}

/** Rewrites every error of a request whose message quotes the client's document or operation name. */
export function createHideDocumentTextPlugin(): ApolloServerPlugin {
  return messageRewritingPlugin(withoutDocumentText);
}
