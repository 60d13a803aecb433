/**
 * Memory of a child process: VmRSS (resident now) and VmHWM (peak resident over the process's life)
 * from /proc/<pid>/status on Linux, else `ps -o rss= -p <pid>` (no peak there: sampled peaks only).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface MemoryReading {
  /** Resident set, KiB. */
  rssKb: number;
  /** Peak resident set since the process started, KiB (Linux only). */
  hwmKb?: number;
}

export function readMemory(pid: number): MemoryReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (rss) return { rssKb: Number(rss[1]), hwmKb: hwm ? Number(hwm[1]) : undefined };
  } catch {
    // not Linux, or the process is gone: try ps
  }
  try {
    const out = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return out ? { rssKb: Number(out) } : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS on an interval; `stop()` returns the peak sampled and every sample. */
export class RssSampler {
  private readonly samples: Array<{ atMs: number; rssKb: number }> = [];
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number | undefined {
    const m = readMemory(this.pid);
    if (m) this.samples.push({ atMs: Date.now() - this.started, rssKb: m.rssKb });
    return m?.rssKb;
  }

  stop(): { peakKb: number; samples: Array<{ atMs: number; rssKb: number }> } {
    clearInterval(this.timer);
    this.sample();
    return { peakKb: Math.max(0, ...this.samples.map((s) => s.rssKb)), samples: this.samples };
  }
}

export const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

/** CPU time (user + system) a process has used so far, in seconds (Linux /proc; undefined elsewhere). */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every mainstream Linux. */
const CLOCK_TICKS = 100;
