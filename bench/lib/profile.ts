/**
 * Summarises a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time per function and per
 * module, so a hot spot can be named with evidence (file, function, share of CPU).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  function: string;
  /** `file:line` (1-based), relative to the repo or `node_modules/<pkg>/…`. */
  location: string;
  selfMs: number;
  /** Share of the busy (non-idle) time, %. */
  selfPct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  programMs: number;
  topFunctions: HotSpot[];
  /** Self time per module: `src/...` file, `node_modules/<pkg>`, or `node:<internal>`. */
  topModules: Array<{ module: string; selfMs: number; selfPct: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('/node_modules/');
  if (nm >= 0) return clean.slice(nm + 1);
  const dist = clean.indexOf('/dist/');
  if (dist >= 0) return clean.slice(dist + 1);
  return clean;
}

function moduleOf(url: string): string {
  const s = shortUrl(url);
  if (s.startsWith('node_modules/')) {
    const parts = s.split('/');
    return parts[1]!.startsWith('@') ? `node_modules/${parts[1]}/${parts[2]}` : `node_modules/${parts[1]}`;
  }
  if (s.startsWith('node:')) return s.split('/')[0]!;
  return s;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let idle = 0;
  let gc = 0;
  let program = 0;
  const fns = new Map<string, { fn: string; loc: string; us: number }>();
  const mods = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(garbage collector)') gc += us;
    if (functionName === '(program)') program += us;
    const loc = url ? `${shortUrl(url)}:${lineNumber + 1}` : '(native)';
    const key = `${functionName}|${loc}`;
    const entry = fns.get(key) ?? { fn: functionName || '(anonymous)', loc, us: 0 };
    entry.us += us;
    fns.set(key, entry);
    const mod = url ? moduleOf(url) : functionName.startsWith('(') ? functionName : '(native)';
    mods.set(mod, (mods.get(mod) ?? 0) + us);
  }
  const wall = profile.endTime - profile.startTime;
  const busy = wall - idle;
  const pct = (us: number): number => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const ms = (us: number): number => Math.round(us / 100) / 10;
  return {
    file,
    wallMs: ms(wall),
    busyMs: ms(busy),
    idleMs: ms(idle),
    gcMs: ms(gc),
    programMs: ms(program),
    topFunctions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ function: f.fn, location: f.loc, selfMs: ms(f.us), selfPct: pct(f.us) })),
    topModules: [...mods.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ module, selfMs: ms(us), selfPct: pct(us) })),
  };
}

export function profileMarkdown(summary: ProfileSummary): string {
  const lines = [
    `CPU profile ${summary.file}: wall ${summary.wallMs} ms, busy ${summary.busyMs} ms (GC ${summary.gcMs} ms, program ${summary.programMs} ms)`,
    '',
    '| self % | self ms | function | location |',
    '|---:|---:|---|---|',
    ...summary.topFunctions.map((f) => `| ${f.selfPct} | ${f.selfMs} | ${f.function} | ${f.location} |`),
    '',
    '| self % | self ms | module |',
    '|---:|---:|---|',
    ...summary.topModules.map((m) => `| ${m.selfPct} | ${m.selfMs} | ${m.module} |`),
  ];
  return lines.join('\n');
}
