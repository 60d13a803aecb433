/**
 * Headless Chromium for the browser tests. Where `/usr/bin/chromium` (or `$CHROMIUM`) is missing they
 * are skipped, except in CI (`CI` set): there a missing browser fails the run, so the browser tests
 * never pass by being skipped (`.ci/run` installs Debian's `chromium`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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

/** A headless Chromium showing one page, killed with its helpers by `close()`. */
export interface PageBrowser {
  /** What the page reported (its `report` promise), or why it could not: Chromium's last output in the error. */
  readonly report: Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Opens `url` in headless Chromium (profile in `userDataDir`) and races the page's own `report` against
 * 60 s and Chromium's exit, so a page that never reports fails with what Chromium said.
 */
export function openPage(userDataDir: string, url: string, pageReport: Promise<unknown>): PageBrowser {
  const browser: ChildProcess = spawn(CHROMIUM, [...chromiumFlags(userDataDir), '--enable-logging=stderr', url], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let output = '';
  browser.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the page reported nothing within 60 s; Chromium said:\n${output}`)), 60_000);
  });
  const exited = once(browser, 'exit').then(([code]) => Promise.reject(new Error(`Chromium exited (${String(code)}):\n${output}`)));
  exited.catch(() => {});
  const report = Promise.race([pageReport, deadline, exited]).finally(() => clearTimeout(timer));
  return {
    report,
    async close() {
      if (browser.exitCode !== null || browser.signalCode !== null) return;
      const gone = once(browser, 'exit');
      // The whole process group: Chromium's helpers (zygote, renderer, crashpad) outlive a killed parent.
      process.kill(-browser.pid!, 'SIGKILL');
      await gone;
    },
  };
}
