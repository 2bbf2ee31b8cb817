/** The load test's open-loop generator: every scheduled request is sent and counted by its outcome. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLoop } from '../../src/cli/openLoop.js';
import { quantile } from '../../src/eval/metrics.js';
import { parseLoadtestArgs } from '../../src/cli/loadtestCommand.js';
import { UsageError } from '../../src/cli/common.js';

let server: http.Server;
let url: string;
const seen: string[] = [];

/** `server` listening on a free loopback port; its URL. */
async function listen(on: http.Server): Promise<string> {
  await new Promise<void>((resolve) => on.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(on.address() as AddressInfo).port}`;
}

const close = (on: http.Server): Promise<void> => new Promise<void>((resolve) => on.close(() => resolve()));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.writeHead(req.url === '/fail' ? 503 : 200).end('{}');
    });
  });
  url = await listen(server);
});

afterAll(() => close(server));

describe('openLoop', () => {
  it.each(['uniform', 'poisson'] as const)(
    'sends rate × duration requests (%s arrivals), in order, and counts non-2xx answers',
    async (arrivals) => {
      seen.length = 0;
      let n = 0;
      const result = await openLoop({
        url,
        rate: 200,
        connections: 4,
        durationSeconds: 0.25,
        arrivals,
        next: () =>
          n++ % 5 === 4
            ? { method: 'GET', path: '/fail' }
            : {
                method: 'POST',
                path: `/ok/${n}`,
                body: `b${n}`,
                headers: { 'content-type': 'text/plain' },
              },
      });
      expect(result.requests).toBe(50);
      expect(result.ok + result.non2xx + result.errors).toBe(50);
      expect(result.non2xx).toBe(10);
      expect(result.errors).toBe(0);
      expect(seen).toHaveLength(50);
      expect(seen.filter((s) => s.startsWith('POST /ok/1 b1'))).toHaveLength(1);
      expect(result.p50Ms).toBeLessThanOrEqual(result.p99Ms);
      expect(result.p99Ms).toBeLessThanOrEqual(result.maxMs);
    },
  );

  it('groups latencies by the second of their intended send time, so a slow stretch shows where it was', async () => {
    // Answers requests sent in the first second at once and holds those of the second one for 400 ms.
    const slow = http.createServer((req, res) => {
      const late = req.url === '/late';
      setTimeout(() => res.writeHead(200).end('{}'), late ? 400 : 0);
    });
    const slowUrl = await listen(slow);
    let n = 0;
    try {
      const result = await openLoop({
        url: slowUrl,
        rate: 20,
        connections: 20,
        durationSeconds: 2,
        next: () => ({ method: 'GET', path: n++ < 20 ? '/early' : '/late' }),
      });
      expect(result.perSecond.map((s) => [s.second, s.requests])).toEqual([
        [0, 20],
        [1, 20],
      ]);
      const [first, second] = result.perSecond;
      expect(second.p50Ms).toBeGreaterThanOrEqual(400);
      expect(first.p50Ms).toBeLessThan(400);
      expect(result.maxMs).toBe(Math.max(first.maxMs, second.maxMs));
    } finally {
      await close(slow);
    }
  });

  it('spreads requests over its open connections instead of reusing the last one freed', async () => {
    // The first three requests are held 80 ms, so three connections open; every later one is answered at
    // once, so one free connection would do. A server process that gets a connection answers all of its
    // requests: spreading them is what lets a several-process server use its processes.
    const ports: number[] = [];
    let held = 0;
    const server3 = http.createServer((req, res) => {
      ports.push(req.socket.remotePort ?? -1);
      setTimeout(() => res.writeHead(200).end('{}'), held++ < 3 ? 80 : 0);
    });
    const url3 = await listen(server3);
    try {
      const result = await openLoop({
        url: url3,
        rate: 50,
        connections: 8,
        durationSeconds: 1,
        next: () => ({ method: 'GET', path: '/' }),
      });
      expect(result.ok).toBe(50);
      const later = ports.slice(10);
      const perPort = new Map<number, number>();
      for (const port of later) perPort.set(port, (perPort.get(port) ?? 0) + 1);
      expect(new Set(ports.slice(0, 3)).size).toBe(3);
      // LIFO reuse sent all 40 to one connection; FIFO turns through the three.
      expect(perPort.size).toBeGreaterThanOrEqual(3);
      expect(Math.max(...perPort.values())).toBeLessThanOrEqual(Math.ceil(later.length / 2));
    } finally {
      await close(server3);
    }
  });

  it('counts a refused connection as an error, not a latency', async () => {
    const closed = http.createServer();
    const refused = await listen(closed);
    await close(closed);
    const result = await openLoop({
      url: refused,
      rate: 100,
      connections: 2,
      durationSeconds: 0.05,
      next: () => ({ method: 'GET', path: '/' }),
    });
    expect(result).toMatchObject({ requests: 5, ok: 0, errors: 5, errorCodes: { ECONNREFUSED: 5 } });
  });

  it('quantile is the nearest rank, clamped to the first and last value', () => {
    const sorted = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([quantile(sorted, 0.5), quantile(sorted, 0.9), quantile(sorted, 0.99), quantile(sorted, 1)]).toEqual([5, 9, 10, 10]);
    // q = 0 is the minimum (the load test's own copy read index −1 there, i.e. undefined).
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile([7], 0)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('parseLoadtestArgs', () => {
  it('takes the total rate and a list of scenarios, and says what is wrong otherwise', () => {
    const parsed = parseLoadtestArgs(['--rate', '1000', '--scenario', 'users,swap', '--arrivals', 'poisson'], {});
    expect(parsed).toMatchObject({
      rate: 1000,
      scenarios: ['users', 'swap'],
      arrivals: 'poisson',
      connections: 20,
      duration: 30,
    });
    expect(() => parseLoadtestArgs(['--scenario', 'users,cold'], {})).toThrow(UsageError);
    expect(() => parseLoadtestArgs(['--scenario', 'users,cold'], {})).toThrow('got "cold"');
    expect(() => parseLoadtestArgs(['--arrivals', 'bursty'], {})).toThrow('--arrivals must be uniform or poisson');
  });
});
