/**
 * `node dist/bench/profile-top.js <file.cpuprofile> [top]`: self time per function and per module of a
 * `node --cpu-prof` profile, as Markdown (see `npm run bench -- --profile`).
 */
import { profileMarkdown, summarizeProfile } from './lib/profile.js';

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-top.js <file.cpuprofile> [top]\n');
  process.exit(2);
}
process.stdout.write(`${profileMarkdown(summarizeProfile(file, top ? Number(top) : 25))}\n`);
