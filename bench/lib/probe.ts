/**
 * Loaded into every process under test with `node --import` (gateway, stock baseline, emulator), so the
 * garbage collector is watched from inside the process that does the allocating: `v8.GCProfiler` records
 * every GC with its pause (`cost`) and the heap before and after. Over an IPC request/answer pair
 * (`gc-start`, then `gc-stop`) the bench gets, for one load phase:
 *
 * - bytes allocated: V8 keeps no allocation counter, but between two GCs the used heap only grows by what
 *   is allocated, so allocated = Σ (used before GC i − used after GC i−1) + (used now − used after the
 *   last GC);
 * - scavenge count, total and longest pause, and what survives them (new-space survivors + what was
 *   promoted to old space): the bytes that outlive a request;
 * - mark-sweep count and total pause.
 *
 * On `profile-start` / `profile-stop` (with --profile), V8's CPU profiler over the inspector protocol,
 * around the phase the bench wants profiled (not the process's start-up), written as a `.cpuprofile`.
 *
 * And on `live-heap`, the used heap after a full GC: the bench asks for it idle and with N requests parked
 * on a slow upstream, for the bytes each request in flight keeps alive.
 *
 * The probe itself allocates nothing between start and stop.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import v8 from 'node:v8';
import vm from 'node:vm';

/** What `gc-stop` answers. */
export interface GcReport {
  kind: 'gc-stop';
  durationMs: number;
  allocatedBytes: number;
  scavenges: number;
  scavengePauseMs: number;
  scavengeMaxPauseMs: number;
  /** Bytes left in new space + bytes promoted, summed over scavenges. */
  scavengeSurvivedBytes: number;
  markSweeps: number;
  markSweepPauseMs: number;
  /** Used heap at the end of the phase. */
  usedHeapBytes: number;
}

interface HeapSpace {
  spaceName: string;
  spaceUsedSize: number;
}
interface GcEntry {
  gcType: string;
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: HeapSpace[] };
  afterGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: HeapSpace[] };
}

const used = (spaces: HeapSpace[], name: string): number => spaces.find((s) => s.spaceName === name)?.spaceUsedSize ?? 0;

export function summarize(entries: GcEntry[], usedAtStart: number, usedAtEnd: number, durationMs: number): Omit<GcReport, 'kind'> {
  let allocated = 0;
  let previousAfter = usedAtStart;
  let scavenges = 0;
  let scavengeUs = 0;
  let scavengeMaxUs = 0;
  let survived = 0;
  let markSweeps = 0;
  let markSweepUs = 0;
  for (const e of entries) {
    allocated += Math.max(0, e.beforeGC.heapStatistics.usedHeapSize - previousAfter);
    previousAfter = e.afterGC.heapStatistics.usedHeapSize;
    if (e.gcType === 'Scavenge' || e.gcType === 'MinorMarkSweep') {
      scavenges++;
      scavengeUs += e.cost;
      scavengeMaxUs = Math.max(scavengeMaxUs, e.cost);
      const before = e.beforeGC.heapSpaceStatistics;
      const after = e.afterGC.heapSpaceStatistics;
      survived += used(after, 'new_space') + Math.max(0, used(after, 'old_space') - used(before, 'old_space'));
    } else if (e.gcType === 'MarkSweepCompact') {
      markSweeps++;
      markSweepUs += e.cost;
    }
  }
  allocated += Math.max(0, usedAtEnd - previousAfter);
  const ms = (us: number): number => Math.round(us / 10) / 100;
  return {
    durationMs: Math.round(durationMs),
    allocatedBytes: allocated,
    scavenges,
    scavengePauseMs: ms(scavengeUs),
    scavengeMaxPauseMs: ms(scavengeMaxUs),
    scavengeSurvivedBytes: survived,
    markSweeps,
    markSweepPauseMs: ms(markSweepUs),
    usedHeapBytes: usedAtEnd,
  };
}

/** What `live-heap` answers: the used heap after full GCs (what is still reachable), bytes. */
export interface LiveHeapReport {
  kind: 'live-heap';
  heapUsedBytes: number;
}

/**
 * V8's `gc()` without starting the process with `--expose-gc` (which would be one more difference between
 * the measured processes and production): the flag set at run time exposes it in contexts created after.
 */
let fullGc: (() => void) | undefined;
function collectGarbage(): void {
  if (!fullGc) {
    v8.setFlagsFromString('--expose-gc');
    fullGc = vm.runInNewContext('gc') as () => void;
  }
  // Twice: the first may leave what finalizers and weak callbacks release for the second.
  fullGc();
  fullGc();
}

let running: { profiler: v8.GCProfiler; usedAtStart: number; startedAt: number } | undefined;
let inspector: Session | undefined;

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => inspector!.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
}

if (process.send) {
  process.on('message', (message: { kind?: string }) => {
    if (message?.kind === 'gc-start') {
      running?.profiler.stop();
      const profiler = new v8.GCProfiler();
      profiler.start();
      running = { profiler, usedAtStart: v8.getHeapStatistics().used_heap_size, startedAt: performance.now() };
      process.send?.({ kind: 'gc-start' });
    } else if (message?.kind === 'profile-start') {
      inspector ??= new Session();
      inspector.connect();
      void post('Profiler.enable')
        .then(() => post('Profiler.start'))
        .then(() => process.send?.({ kind: 'profile-start' }));
    } else if (message?.kind === 'profile-stop') {
      const file = (message as { file?: string }).file!;
      void post('Profiler.stop').then((result) => {
        writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile));
        inspector?.disconnect();
        process.send?.({ kind: 'profile-stop', file });
      });
    } else if (message?.kind === 'live-heap') {
      collectGarbage();
      const report: LiveHeapReport = { kind: 'live-heap', heapUsedBytes: v8.getHeapStatistics().used_heap_size };
      process.send?.(report);
    } else if (message?.kind === 'gc-stop') {
      const usedAtEnd = v8.getHeapStatistics().used_heap_size;
      const endedAt = performance.now();
      const r = running;
      running = undefined;
      const data = r?.profiler.stop() as { statistics?: GcEntry[] } | undefined;
      const report: GcReport = { kind: 'gc-stop', ...summarize(data?.statistics ?? [], r?.usedAtStart ?? usedAtEnd, usedAtEnd, r ? endedAt - r.startedAt : 0) };
      process.send?.(report);
    }
  });
}
