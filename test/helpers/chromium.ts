/**
 * Headless Chromium for the browser tests. Where `/usr/bin/chromium` (or `$CHROMIUM`) is missing they
 * are skipped, except in CI (`CI` set): there a missing browser fails the run, so the browser tests
 * never pass by being skipped (`.ci/run` installs Debian's `chromium`).
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The flags every test browser starts with: headless, no first-run work, no traffic of its own. */
export function chromiumFlags(userDataDir: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${userDataDir}`,
    // Nothing but this machine resolves: a request to another host fails instead of leaving it.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
  ];
}

/** `describe` where Chromium is installed; elsewhere `describe.skip`, or in CI one failing test. */
export function describeWithChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs Chromium in CI', () => {
        throw new Error(`${CHROMIUM} is missing and CI is set: browser tests are mandatory in CI (apt-get install -y chromium, or set CHROMIUM)`);
      });
    });
  } else {
    describe.skip(name, body);
  }
}
