/**
 * An open-loop load generator: requests leave at fixed intended times t₀ + n / rate, whether or not
 * earlier ones were answered, over at most `connections` keep-alive connections (a request finding them
 * all busy waits for one, as it would behind a real client's pool), and each latency is measured from its
 * INTENDED send time, so a stalled server is charged for every request it delayed (no coordinated
 * omission).
 *
 * Arrivals are evenly spaced (`uniform`), or a Poisson process of the same rate (`poisson`: exponential
 * gaps, −ln(U) / rate, from a seeded generator), which is how independent clients arrive and is burstier.
 *
 * Free connections are taken in FIFO order (the one idle longest first), not Node's default LIFO: with
 * LIFO the most recently freed connection takes every request that finds one free, so at a rate the
 * server answers quickly one connection carries nearly all of them, and since a server with several
 * worker processes hands each connection to one process, one process answered nearly everything while
 * the others idled. That is one client's traffic; `connections` clients, each on its own connection,
 * spread over the processes, which FIFO reuse models.
 *
 * Why not autocannon's rate mode: its `overallRate` is split among the connections, and each connection
 * sends its share for the second back to back as fast as it is answered, then pauses until the next
 * second: a closed loop in bursts, whose latencies measure the burst's queue rather than the server at a
 * steady rate. Autocannon stays for the closed-loop throughput figure.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { quantile } from '../eval/metrics.js';
import { Rng } from '../rng.js';

export type Arrivals = 'uniform' | 'poisson';

export interface OpenLoopRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface OpenLoopOptions {
  url: string;
  /** Requests per second over all connections. */
  rate: number;
  connections: number;
  durationSeconds: number;
  /** The next request to send (called once per request, in order). */
  next: () => OpenLoopRequest;
  /** A request unanswered this long counts as an error (default 10 s). */
  timeoutMs?: number;
  /** Evenly spaced (default) or Poisson arrivals. */
  arrivals?: Arrivals;
  /** Seed of the Poisson gaps. */
  seed?: number;
}

export interface OpenLoopResult {
  /** Requests sent (rate × duration). */
  requests: number;
  /** Answered with a 2xx. */
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** The errors by code (ECONNRESET, timeout, …): what went wrong, not just how often. */
  errorCodes: Record<string, number>;
  /** Answered requests per second, from the first intended send to the last answer. */
  reqPerSec: number;
  seconds: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * The same figures for each second of intended send times (second 0 is the first): where in the run the
   * slow answers were, e.g. only right after a start.
   */
  perSecond: { second: number; requests: number; p50Ms: number; p99Ms: number; maxMs: number }[];
}

/** Latencies grouped by the second of their intended send time, with their quantiles. */
function bySecond(intended: Float64Array, latencies: Float64Array, answered: number): OpenLoopResult['perSecond'] {
  const groups: number[][] = [];
  for (let n = 0; n < answered; n++) (groups[Math.floor(intended[n] / 1000)] ??= []).push(latencies[n]);
  const out: OpenLoopResult['perSecond'] = [];
  groups.forEach((group, second) => {
    group.sort((a, b) => a - b);
    out.push({
      second,
      requests: group.length,
      p50Ms: Number(quantile(group, 0.5).toFixed(1)),
      p99Ms: Number(quantile(group, 0.99).toFixed(1)),
      maxMs: Number(group[group.length - 1].toFixed(1)),
    });
  });
  return out;
}

export function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(options.url);
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: options.connections,
    scheduling: 'fifo',
  });
  const total = Math.round(options.rate * options.durationSeconds);
  // Intended send times (ms after start), drawn up front so the pump only compares clocks.
  const intendedAt = new Float64Array(total);
  const rng = new Rng(options.seed ?? 1);
  for (let n = 0, t = 0; n < total; n++) {
    intendedAt[n] = t;
    t += options.arrivals === 'poisson' ? (-Math.log(1 - rng.next()) * 1000) / options.rate : 1000 / options.rate;
  }
  const latencies = new Float64Array(total);
  /** Intended send time (ms after start) of each answered request, in the order of `latencies`. */
  const answeredAt = new Float64Array(total);
  let answered = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  let finished = 0;
  let lastAnswer = 0;
  const start = performance.now() + 50;

  return new Promise((resolve) => {
    const done = (): void => {
      if (++finished < total) return;
      agent.destroy();
      const sorted = latencies.slice(0, answered).sort();
      const seconds = (lastAnswer - start) / 1000;
      resolve({
        requests: total,
        ok,
        non2xx,
        errors,
        errorCodes,
        reqPerSec: Math.round(answered / Math.max(seconds, options.durationSeconds)),
        seconds: Number(seconds.toFixed(2)),
        p50Ms: Number(quantile(sorted, 0.5).toFixed(1)),
        p90Ms: Number(quantile(sorted, 0.9).toFixed(1)),
        p99Ms: Number(quantile(sorted, 0.99).toFixed(1)),
        maxMs: Number((sorted[sorted.length - 1] ?? NaN).toFixed(1)),
        perSecond: bySecond(answeredAt, latencies, answered),
      });
    };
    /** Sends the request intended `offset` ms after the start. */
    const fire = (offset: number): void => {
      const intended = start + offset;
      const spec = options.next();
      let settled = false;
      const settle = (status: number | null, error?: Error & { code?: string }): void => {
        if (settled) return;
        settled = true;
        if (status === null) {
          errors++;
          const code = error?.code ?? error?.message ?? 'unknown';
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        } else {
          const now = performance.now();
          answeredAt[answered] = offset;
          latencies[answered++] = now - intended;
          lastAnswer = now;
          if (status >= 200 && status < 300) ok++;
          else non2xx++;
        }
        done();
      };
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: spec.method,
          path: spec.path,
          headers: {
            ...(spec.body !== undefined ? { 'content-length': Buffer.byteLength(spec.body) } : {}),
            ...spec.headers,
          },
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => settle(res.statusCode ?? 0));
          res.on('error', (err) => settle(null, err));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => settle(null, err));
      req.end(spec.body);
    };
    let sent = 0;
    const pump = (): void => {
      const now = performance.now();
      while (sent < total && start + intendedAt[sent] <= now) fire(intendedAt[sent++]);
      if (sent < total) setTimeout(pump, Math.max(0, start + intendedAt[sent] - performance.now()));
    };
    setTimeout(pump, 50);
  });
}
