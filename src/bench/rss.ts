/**
 * Resident-set-size readings of the current process. The peak (high-water mark) is what the benchmark
 * reports: /proc/self/status's VmHWM on Linux, else process.resourceUsage().maxRSS (kilobytes).
 */
import { readFileSync } from 'node:fs';

/** The value of a "Name:   1234 kB" line of /proc/<pid>/status, in kB, or null when absent. */
export function parseStatusKb(status: string, field: string): number | null {
  const match = new RegExp(`^${field}:\\s*(\\d+)\\s*kB\\s*$`, 'm').exec(status);
  return match ? Number(match[1]) : null;
}

function readStatus(): string | null {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
}

const KB_PER_MB = 1024;

/** Peak RSS of this process so far, MiB. */
export function peakRssMB(): number {
  const status = readStatus();
  const kb = (status !== null ? parseStatusKb(status, 'VmHWM') : null) ?? process.resourceUsage().maxRSS;
  return kb / KB_PER_MB;
}

/** Current RSS of this process, MiB. */
export function currentRssMB(): number {
  const status = readStatus();
  const kb = status !== null ? parseStatusKb(status, 'VmRSS') : null;
  return kb !== null ? kb / KB_PER_MB : process.memoryUsage.rss() / (1024 * 1024);
}
