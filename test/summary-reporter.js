/**
 * Jest reporter that ends the run with one plain line, `N passed, N failed` (plus `, N skipped`), which
 * CI tooling reads as the run's verdict whatever the test runner. Jest prints its own summary after the
 * custom reporters, so the line is written synchronously when the process exits, after everything else.
 * The run starts with a line naming the Node version it runs on.
 */
import { writeSync } from 'node:fs';

export default class SummaryReporter {
  /** First line of the run: the Node that runs it (CI runs the suite on two; npm scripts use the devDependency's). */
  onRunStart() {
    writeSync(2, `Running the suite on Node ${process.version} (${process.execPath})\n`);
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.once('exit', () => writeSync(2, `\n${line}\n`));
  }
}
