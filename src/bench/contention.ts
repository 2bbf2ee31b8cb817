/**
 * How much of the machine other processes took while a timing ran: the machine's busy CPU time
 * (/proc/stat: user, nice, system, irq, softirq and steal, in USER_HZ ticks) less this process's own
 * (process.cpuUsage), over the wall time, in cores. It says whether a thread-count comparison meant
 * anything: under the kernel's autogroup scheduling every session gets an equal share of the cores
 * whatever its processes' nice values, so one busy thread of another session takes a whole core from a
 * 2-thread run on 2 cores (its second thread then waits for the first at every barrier).
 */
import { readFileSync } from 'node:fs';

/** /proc/stat's clock ticks per second (USER_HZ: 100 on every Linux configuration in use). */
const TICKS_PER_SECOND = 100;

/** Busy seconds of all CPUs from /proc/stat's text (its aggregate "cpu" line), or null when absent. */
export function parseBusySeconds(stat: string): number | null {
  const line = /^cpu\s+(.*)$/m.exec(stat);
  if (!line) return null;
  const f = line[1].trim().split(/\s+/).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

function busySeconds(): number | null {
  try {
    return parseBusySeconds(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Starts watching; the function returned gives the cores other processes used on average since (null
 * where /proc/stat cannot be read). Tick granularity: meaningful over a second or more.
 */
export function watchOtherLoad(): () => number | null {
  const busy0 = busySeconds();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const busy1 = busySeconds();
    if (busy0 === null || busy1 === null) return null;
    const own = process.cpuUsage(own0);
    const wall = (performance.now() - t0) / 1000;
    if (wall <= 0) return null;
    return Math.max(0, (busy1 - busy0 - (own.user + own.system) / 1e6) / wall);
  };
}
