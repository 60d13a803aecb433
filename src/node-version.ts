/**
 * The Node.js floor of `package.json` `engines` (`>=22.15`), checked at start: on an older Node some
 * dependency may fail in a way that does not say why, so the gateway says it first, in one line.
 * Pure, for the tests; `preflight.ts` runs it before anything else is loaded.
 */

/** `[major, minor, patch]` of `22.15.1`, `v22.15`, `>=22.15` (missing parts are 0); undefined for anything else. */
function versionOf(text: string): [number, number, number] | undefined {
  const match = /^(?:>=\s*)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : undefined;
}

/**
 * The one line to print when `current` (`process.versions.node`) is below `engines` (a `>=X.Y[.Z]` range),
 * else undefined (also for a range of another form, which this does not judge).
 */
export function nodeVersionNotice(current: string, engines: string | undefined): string | undefined {
  const floor = engines === undefined ? undefined : versionOf(engines);
  const running = versionOf(current);
  if (!floor || !running || !/^\s*>=/.test(engines!)) return undefined;
  for (let i = 0; i < 3; i++) {
    if (running[i]! > floor[i]!) return undefined;
    if (running[i]! < floor[i]!) {
      const wanted = floor.join('.').replace(/\.0$/, '');
      return `Node.js ${current.replace(/^v?/, 'v')} is older than this gateway supports (${wanted} or later, package.json engines): expect failures that do not say why; run it on Node ${wanted}+ (npm start uses the Node 24 that npm ci installs)`;
    }
  }
  return undefined;
}
