/** Unit tests of the syntax-message rewrite, on the errors graphql-js itself produces. */
import { GraphQLError, parse } from 'graphql';
import { GENERIC_SYNTAX_MESSAGE, valueFreeSyntaxMessage, withoutDocumentText } from '../src/plugins/hide-document-text.js';

const SECRET = 'pa$$ "w0rd", found Name "x".';

/** graphql-js's own message for `document`, and its rewrite. */
function syntax(document: string): { original: string; rewritten: string } {
  try {
    parse(document, { maxTokens: 50 });
  } catch (error) {
    const original = (error as GraphQLError).message;
    return { original, rewritten: valueFreeSyntaxMessage(original) };
  }
  throw new Error(`${document} parsed`);
}

describe('valueFreeSyntaxMessage', () => {
  it.each([
    [`{ f(${JSON.stringify(SECRET)}) }`, 'Syntax Error: Expected Name, found String.'],
    [`{ f(a: """${SECRET}""" b) }`, 'Syntax Error: Expected ":", found ")".'],
    [`{ f(a: 1) """${SECRET}""" }`, 'Syntax Error: Expected Name, found BlockString.'],
    ['{ f } hunter2', 'Syntax Error: Unexpected Name.'],
    ['{ f } 4242', 'Syntax Error: Unexpected Int.'],
    ['{ f } 42.42', 'Syntax Error: Unexpected Float.'],
    ['fragment on on T { f }', 'Syntax Error: Unexpected Name.'],
    ['fragment F hunter2 T { f }', 'Syntax Error: Expected "on", found Name.'],
    ['{ f(a: 1', 'Syntax Error: Expected Name, found <EOF>.'],
    ['{ f(a: 01) }', 'Syntax Error: Invalid number, unexpected digit after 0.'],
    ['{ f(a: 1.x) }', 'Syntax Error: Invalid number, expected a digit.'],
    ['{ f(a: 1x) }', 'Syntax Error: Invalid number, expected a digit.'],
    ['{ f ~ }', 'Syntax Error: Unexpected character.'],
    ['{ f \u00e9 }', 'Syntax Error: Unexpected character.'],
    ['{ f \u0007 }', 'Syntax Error: Unexpected character.'],
    ['{ f \ud800 }', 'Syntax Error: Invalid character.'],
    ['{ f(a: "x\\q") }', 'Syntax Error: Invalid character escape sequence.'],
    ['{ f(a: "x\\uD800") }', 'Syntax Error: Invalid Unicode escape sequence.'],
    ['{ f(a: "x\\u{110000}") }', 'Syntax Error: Invalid Unicode escape sequence.'],
    ['{ f(a: "x\ud800") }', 'Syntax Error: Invalid character within String.'],
    ['{ f(a: "hunter2 w0rd', 'Syntax Error: Unterminated string.'],
    [`{ f(a: """${SECRET}`, 'Syntax Error: Unterminated string.'],
    ["{ f(a: 'x') }", `Syntax Error: Unexpected single quote character ('), did you mean to use a double quote (")?`],
    ['query ($v: Int = $hunter2) { f }', 'Syntax Error: Unexpected variable in constant value.'],
    [`{ ${'f '.repeat(60)}}`, 'Syntax Error: Document contains more that 50 tokens. Parsing aborted.'],
  ])('%j', (document, expected) => {
    const { original, rewritten } = syntax(document);
    expect(rewritten).toBe(expected);
    expect(rewritten).not.toMatch(/w0rd|hunter2|4242|\\q|D800|110000|\u00e9/);
    // The rewrite is needed only where graphql-js quoted something.
    if (original === expected) expect(withoutDocumentText({ message: original, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })).toBeUndefined();
  });

  it('reduces a form it does not know to a generic message rather than passing it through', () => {
    expect(valueFreeSyntaxMessage(`Syntax Error: Something new about "${SECRET}".`)).toBe(GENERIC_SYNTAX_MESSAGE);
    expect(valueFreeSyntaxMessage(`Expected Name, found String "${SECRET}".`)).toBe(GENERIC_SYNTAX_MESSAGE);
  });

  it('drops the name of an unknown operation and leaves other errors alone', () => {
    expect(withoutDocumentText({ message: `Unknown operation named "${SECRET}".`, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })).not.toContain('w0rd');
    expect(withoutDocumentText({ message: 'Must provide operation name if query contains multiple operations.', extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })).toBeUndefined();
    expect(withoutDocumentText({ message: 'Cannot query field "x" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })).toBeUndefined();
  });
});
