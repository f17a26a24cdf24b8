/**
 * What a process uses, read from Linux's /proc: resident memory now and at its peak, and CPU time.
 * Undefined elsewhere, or when the process is gone.
 */
import { readFileSync } from 'node:fs';

export interface ProcessUsage {
  rssBytes: number;
  /** High-water mark of the resident set (VmHWM). */
  peakRssKb: number;
  /** User + system CPU time, µs. */
  cpuUs: number;
}

/** Linux reports CPU times in clock ticks of 1/100 s on every architecture Node runs on. */
const TICK_US = 10_000;

export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? 0);
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssBytes: kb('VmRSS') * 1024, peakRssKb: kb('VmHWM'), cpuUs: ticks * TICK_US };
  } catch {
    return undefined;
  }
}
