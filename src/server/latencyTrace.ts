/**
 * A diagnostic of where a server process's latency goes, one line a second on its log (`npm start --
 * --trace-latency`, or `npm run loadtest -- --trace-latency`): the requests answered that second with
 * the handler time (from the request being parsed to the answer written, p50 and max, and the slowest
 * request's path), the event loop's delay (how late a timer fired: what a request arriving that second
 * waited before it was even read, p99 and max), and the garbage collector's pauses (count and total by
 * kind, the longest). The lines are aligned on the time since the process started listening, so they
 * can be read next to the load generator's per-second figures.
 *
 * It changes nothing it measures except for a few timers and one observer; it is off unless asked for.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};

interface Second {
  handlerMs: number[];
  slowestMs: number;
  slowestPath: string;
  gc: Map<string, { count: number; ms: number }>;
  gcMaxMs: number;
}

const fresh = (): Second => ({ handlerMs: [], slowestMs: 0, slowestPath: '', gc: new Map(), gcMaxMs: 0 });

const ms = (x: number): string => x.toFixed(1);

/** Starts tracing `server`; returns the function that stops it. */
export function traceLatency(server: Server, log: (line: string) => void, everyMs = 1000): () => void {
  const started = performance.now();
  let second = fresh();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const at = performance.now();
    // Read now: Express's mounted routers strip their mount path from req.url while they run.
    const path = `${req.method} ${req.url}`;
    res.once('finish', () => {
      const took = performance.now() - at;
      if (took >= second.slowestMs) {
        second.slowestMs = took;
        second.slowestPath = path;
      }
      second.handlerMs.push(took);
    });
  };
  // Before the app's own listener, which runs the whole synchronous handler when it is called.
  server.prependListener('request', onRequest);

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = GC_KINDS[entry.detail?.kind ?? -1] ?? 'other';
      const tally = second.gc.get(kind) ?? { count: 0, ms: 0 };
      tally.count++;
      tally.ms += entry.duration;
      second.gc.set(kind, tally);
      second.gcMaxMs = Math.max(second.gcMaxMs, entry.duration);
    }
  });
  gc.observe({ entryTypes: ['gc'] });

  const timer = setInterval(() => {
    const s = second;
    second = fresh();
    const sorted = s.handlerMs.sort((a, b) => a - b);
    const handler =
      sorted.length === 0
        ? 'requests 0'
        : `requests ${sorted.length}, handler p50 ${ms(sorted[Math.floor(sorted.length / 2)])} max ${ms(sorted[sorted.length - 1])} ms (${s.slowestPath})`;
    const delay = `loop delay p99 ${ms(loop.percentile(99) / 1e6)} max ${ms(loop.max / 1e6)} ms`;
    loop.reset();
    const collections = [...s.gc].map(([kind, t]) => `${kind} ${t.count}× ${ms(t.ms)} ms`).join(', ');
    const gcLine = s.gc.size === 0 ? 'gc none' : `gc ${collections}, longest ${ms(s.gcMaxMs)} ms`;
    log(`trace +${((performance.now() - started) / 1000).toFixed(0)} s: ${handler}; ${delay}; ${gcLine}`);
  }, everyMs);
  timer.unref();

  return () => {
    clearInterval(timer);
    gc.disconnect();
    loop.disable();
    server.off('request', onRequest);
  };
}
