/**
 * `node dist/bench/chart.js <results.json> [out.svg]`: redraws the bench chart from a results file
 * (default output: the same path with .svg). `npm run bench` writes it itself; this is for old files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderChart, type ChartInput } from './lib/chart.js';

const [input, output] = process.argv.slice(2);
if (!input) {
  process.stderr.write('usage: node dist/bench/chart.js <results.json> [out.svg]\n');
  process.exit(2);
}
const target = output ?? input.replace(/\.json$/, '') + '.svg';
writeFileSync(target, renderChart(JSON.parse(readFileSync(input, 'utf8')) as ChartInput));
process.stdout.write(`${target}\n`);
