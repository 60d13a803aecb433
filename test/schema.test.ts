import { readFileSync } from 'node:fs';
import { findFieldsWithoutPermission, findPermissionsWithoutField } from '../src/auth/auth-checker.js';
import { buildGatewaySchema, printGatewaySchema } from '../src/schema.js';

describe('schema', () => {
  it('matches the committed schema/schema.graphql (run `npm run schema` after changing types)', async () => {
    const committed = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printGatewaySchema(await buildGatewaySchema())).toBe(committed);
  });

  it('has a permission-table row for every Query and Mutation field, and no row without a field', async () => {
    const schema = await buildGatewaySchema();
    expect(findFieldsWithoutPermission(schema)).toEqual([]);
    expect(findPermissionsWithoutField(schema)).toEqual([]);
  });
});
