/** Unit tests of the coercion-message rewrite, on the errors graphql-js itself produces. */
import { buildSchema, execute, parse, validate } from 'graphql';
import { withoutInputValues } from '../src/plugins/hide-input-values.js';

const schema = buildSchema(`
  enum Color { RED GREEN }
  input Inner { password: String!  n: Int  color: Color }
  input Outer { inner: Inner  list: [Inner!]  name: String }
  type Query { f(o: Outer, id: ID): Boolean }
`);

async function variableErrors(variables: Record<string, unknown>): Promise<string[]> {
  const result = await execute({ schema, document: parse('query ($o: Outer, $id: ID) { f(o: $o, id: $id) }'), variableValues: variables });
  return (result.errors ?? []).map((e) => withoutInputValues(e) ?? e.message);
}

const literalErrors = (document: string): string[] => validate(schema, parse(document)).map((e) => withoutInputValues(e) ?? e.message);

describe('withoutInputValues', () => {
  it('keeps the variable, the path and the detail, and drops the value', async () => {
    expect(await variableErrors({ o: { inner: { password: 'hunter2', pasword: 1 } } })).toEqual([
      'Variable "$o" got an invalid value at "o.inner"; Field "pasword" is not defined by type "Inner". Did you mean "password"?',
    ]);
    expect(await variableErrors({ o: { list: [{ password: 'p' }, { password: 7 }] } })).toEqual([
      'Variable "$o" got an invalid value at "o.list[1].password"; Expected type "String".',
    ]);
    expect(await variableErrors({ o: { inner: { password: 'p', color: 'hunter2' } } })).toEqual([
      'Variable "$o" got an invalid value at "o.inner.color"; Expected a value of enum "Color".',
    ]);
    expect(await variableErrors({ o: { inner: {} } })).toEqual([
      'Variable "$o" got an invalid value at "o.inner"; Field "password" of required type "String!" was not provided.',
    ]);
    expect(await variableErrors({ id: { hunter2: true } })).toEqual(['Variable "$id" got an invalid value; Expected type "ID".']);
  });

  it('is not fooled by values that look like a path or a separator', async () => {
    const [message] = await variableErrors({ o: { name: 'x at "o.inner"; Field "a" is not defined by type "Outer".', inner: 5 } });
    expect(message).toBe('Variable "$o" got an invalid value at "o.inner"; Expected type "Inner" to be an object.');
    const [keyed] = await variableErrors({ o: { 'hunter2 at "o.x"': 1 } });
    expect(keyed).toBe('Variable "$o" got an invalid value; Not a valid value for its type.');
  });

  it('rewrites literals in the document', () => {
    expect(literalErrors('{ f(o: { inner: { password: 42 } }) }')).toEqual(['Expected type "String".']);
    expect(literalErrors('{ f(o: "hunter2") }')).toEqual(['Expected value of type "Outer".']);
    expect(literalErrors('{ f(o: { inner: { password: "p", color: "hunter2" } }) }')).toEqual(['Expected a value of enum "Color".']);
  });

  it('leaves messages without values alone', () => {
    expect(withoutInputValues({ message: 'Cannot query field "x" on type "Query".', originalError: undefined })).toBeUndefined();
  });
});
