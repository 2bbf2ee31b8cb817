/** The --trace-latency diagnostic: one line per interval counting the requests answered in it, until stopped. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { traceLatency } from '../../src/server/latencyTrace.js';

describe('traceLatency', () => {
  it('counts every answered request once, names the slowest, and logs nothing after it is stopped', async () => {
    // Like an Express router mounted at /api, the handler strips the mount path from req.url as it runs.
    const server = http.createServer((req, res) => {
      const slow = req.url === '/api/slow';
      req.url = req.url?.replace(/^\/api/, '') || '/';
      setTimeout(() => res.end('{}'), slow ? 200 : 0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lines: string[] = [];
    const stop = traceLatency(server, (line) => lines.push(line), 40);
    try {
      for (const path of ['/a', '/api/slow', '/b']) await (await fetch(url + path)).arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 150));
    } finally {
      stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const counted = lines.map((line) => Number(/requests (\d+)/.exec(line)?.[1] ?? NaN));
    expect(counted.every(Number.isInteger)).toBe(true);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(3);
    expect(lines.some((line) => line.includes('(GET /api/slow)'))).toBe(true);
    expect(lines.every((line) => /loop delay p99 [\d.]+ max [\d.]+ ms; gc /.test(line))).toBe(true);
    const after = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines).toHaveLength(after);
  });
});
