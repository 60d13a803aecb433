/**
 * Imported first by `main.ts`, so it runs before any dependency is evaluated: says in one line on stderr
 * when this Node is older than `package.json` `engines` (node-version.ts), then lets start-up go on.
 */
import { readFileSync } from 'node:fs';
import { nodeVersionNotice } from './node-version.js';

/** `engines.node` of the package.json beside `dist/` (the repository's, or the image's `/app/package.json`). */
function enginesNode(): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
    return manifest.engines?.node;
  } catch {
    return undefined; // no package.json beside the build: nothing to compare with
  }
}

const notice = nodeVersionNotice(process.versions.node, enginesNode());
if (notice) process.stderr.write(`${notice}\n`);
