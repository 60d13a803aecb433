/**
 * GraphQL Code Generator (`npm run codegen`): typed documents for the example operations in
 * `examples/operations/` (the README's "Example operations"), from the committed `schema/schema.graphql`.
 * No server and no network are needed. The output in `examples/generated/` is committed;
 * `test/clients-codegen.test.ts` fails when it is stale, and `test/clients.test.ts` runs the generated
 * documents with Apollo Client.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['examples/operations/*.graphql'],
  // Fail rather than silently generate nothing.
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false, // `.js` suffixes on relative imports (ESM, NodeNext)
  generates: {
    'examples/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        // DateTime is an ISO 8601 string on the wire.
        scalars: { DateTime: 'string' },
      },
    },
  },
};

export default config;
