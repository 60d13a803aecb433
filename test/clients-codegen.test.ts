/**
 * `npm run codegen` (GraphQL Code Generator, client preset) turns the README's example operations into
 * typed documents from `schema/schema.graphql`: the committed output must be current, and the examples
 * must be the README's.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, Kind, parse, print, validate, type OperationDefinitionNode } from 'graphql';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = join(root, 'examples', 'operations');

/** Operation name -> printed operation (formatting and comments normalised away). */
function operations(source: string): Map<string, string> {
  return new Map(
    parse(source)
      .definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      .map((d) => [d.name!.value, print(d)]),
  );
}

const examples = () => readdirSync(examplesDir).filter((f) => f.endsWith('.graphql')).map((f) => readFileSync(join(examplesDir, f), 'utf8')).join('\n');

describe('codegen', () => {
  it('has examples/generated/ up to date with the schema and examples/operations/ (`npm run codegen`)', () => {
    const result = spawnSync(process.execPath, [join(root, 'node_modules', '@graphql-codegen', 'cli', 'esm', 'bin.js'), '--config', 'codegen.ts', '--check'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stdout + result.stderr).not.toMatch(/stale files/);
    expect(result.status).toBe(0);
  });

  it("covers every example operation of the README's \"Example operations\", unchanged", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = /## Example operations\s+```graphql\n([\s\S]*?)```/.exec(readme);
    expect(section).not.toBeNull();
    const fromReadme = operations(section![1]!);
    const fromExamples = operations(examples());
    expect(fromReadme.size).toBeGreaterThanOrEqual(7);
    for (const [name, printed] of fromReadme) expect({ name, printed: fromExamples.get(name) }).toEqual({ name, printed });
  });

  it('has example operations that are valid against the committed schema', () => {
    const schema = buildSchema(readFileSync(join(root, 'schema', 'schema.graphql'), 'utf8'));
    expect(validate(schema, parse(examples()))).toEqual([]);
  });
});
