/** `npm run schema`: writes the emitted SDL to schema/schema.graphql. */
import 'reflect-metadata';
import { writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildGatewaySchema, printGatewaySchema } from './schema.js';

const target = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));
await mkdir(fileURLToPath(new URL('../../schema/', import.meta.url)), { recursive: true });
await writeFile(target, printGatewaySchema(await buildGatewaySchema()));
console.log(`wrote ${target}`);
