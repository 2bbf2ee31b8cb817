/**
 * `launch()` and `scripts/start.ts`: an empty database is seeded and a model trained before the port
 * opens; an existing model is served as is; shutdown lets a request in flight finish, then closes the
 * database. "In flight" is made certain without timing: the client sends `Expect: 100-continue`, and the
 * server only answers "100 Continue" once it holds the request.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from '../../src/server/main.js';
import { CatalogStore, ModelStore, openDatabase } from '../../src/store/index.js';
import { createFixture, request, type Fixture } from './helpers.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rbm-launch-test-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * POSTs `body` in two steps: headers first (with Expect: 100-continue); once the server has accepted the
 * request, `whileInFlight` runs, then the body is sent. Resolves with the response.
 */
function postAcrossShutdown(
  url: string,
  body: string,
  whileInFlight: () => void | Promise<void>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue', ...headers },
    });
    req.on('continue', () => {
      Promise.resolve(whileInFlight()).then(() => req.end(body), reject);
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('launch', () => {
  it('seeds an empty database, trains a model, serves it, and shuts down gracefully', async () => {
    const dbPath = path.join(dir, 'fresh', 'app.db'); // the folder does not exist yet
    const logs: string[] = [];
    const server = await launch({ dbPath, port: 0, log: (l) => logs.push(l), trainOptions: { epochs: 1, hidden: 4 }, pollMs: 0 });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(logs.some((l) => l.includes('seeded the demo catalog'))).toBe(true);
    expect(logs.some((l) => l.includes('no model yet: training one'))).toBe(true);
    // Served users through the request path before the port opened (launch resolves once listening).
    expect(logs.some((l) => /model version 1: warmed up on [1-9]\d* users/.test(l))).toBe(true);
    expect(logs.filter((l) => l.includes('warming up the HTTP path failed'))).toEqual([]);
    const health = await request(`${server.url}/api/health`);
    expect(health.body).toMatchObject({ status: 'ok', model: { version: 1, kind: 'watch-like' } });
    expect(health.body.data.ratings).toBeGreaterThan(0);

    const visitor = JSON.stringify({ ratings: [{ itemId: 1, rating: 5 }], limit: 3 });
    let closed: Promise<void> | null = null;
    const answer = await postAcrossShutdown(`${server.url}/api/recommendations`, visitor, () => {
      closed = server.close();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).items).toHaveLength(3);
    await closed;
    await expect(fetch(`${server.url}/api/health`)).rejects.toThrow(); // no longer listening

    // The database was closed cleanly and kept what launch wrote.
    const db = openDatabase(dbPath);
    expect(new ModelStore(db).list()).toHaveLength(1);
    expect(new CatalogStore(db).isEmpty()).toBe(false);
    db.close();
  });

  it('serves the existing model without retraining', async () => {
    const fixture: Fixture = createFixture();
    const version = fixture.trainAndSave();
    fixture.db.close();
    const logs: string[] = [];
    const server = await launch({ dbPath: fixture.dbPath, port: 0, log: (l) => logs.push(l), pollMs: 0 });
    try {
      expect(logs.some((l) => l.includes('training'))).toBe(false);
      expect((await request(`${server.url}/api/health`)).body.model).toMatchObject({ version, kind: 'bias' });
    } finally {
      await server.close();
      fixture.cleanup();
    }
  });
});

describe('scripts/start.ts', () => {
  const startScript = (args: string[], env: Record<string, string> = {}) =>
    spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  const collect = (child: ReturnType<typeof startScript>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('rejects an unknown flag and a bad port with a clear message', async () => {
    const unknown = await collect(startScript(['--prot', '80']));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--prot'");
    expect(unknown.stderr).toContain('usage: npm start');
    const badPort = await collect(startScript([], { PORT: '70000' }));
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--port (or PORT) must be an integer from 0 to 65535, got "70000"');
  });

  /** Resolves once the child has written a line containing `text` to stderr (from now on). */
  const stderrLine = (child: ReturnType<typeof startScript>, text: string): Promise<void> =>
    new Promise((resolve) => {
      let seen = '';
      const onData = (d: Buffer): void => {
        seen += d.toString();
        if (seen.includes(text)) {
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      child.stderr!.on('data', onData);
    });

  it.each([
    ['once (2 worker processes)', 1, 2],
    ['twice, as a process-group kill through a launcher (tsx, npm) delivers it (one process)', 2, 1],
    ['twice (2 worker processes)', 2, 2],
  ])('on SIGTERM %s finishes the request in flight, then exits 0', async (_how, signals, workers) => {
    const fixture = createFixture();
    fixture.trainAndSave();
    fixture.db.close();
    const child = startScript(['--port', '0', '--workers', String(workers)], { DB_PATH: fixture.dbPath });
    const done = collect(child);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const match = /^listening on (\S+)$/.exec(line);
          if (match) resolve(match[1]);
        });
        child.on('exit', () => reject(new Error('the server exited before listening')));
      });
      const answer = await postAcrossShutdown(
        `${url}/api/users/1/ratings`,
        JSON.stringify({ itemId: 2, rating: 4 }),
        async () => {
          // Each signal once the previous one was handled (the kernel merges a signal sent while the same
          // one is still pending, so two back to back may arrive as one).
          for (let n = 0; n < signals; n++) {
            child.kill('SIGTERM');
            await stderrLine(child, n === 0 ? 'SIGTERM: finishing requests in flight' : 'SIGTERM again');
          }
        },
        fixture.auth,
      );
      expect(answer.status).toBe(201);
      const { code, stderr } = await done;
      expect(code).toBe(0);
      expect(stderr).toContain('SIGTERM: finishing requests in flight');
      // The rating written during shutdown is in the file.
      const db = openDatabase(fixture.dbPath);
      expect(new CatalogStore(db).getUserRatings(1).find((r) => r.itemId === 2)?.value).toBe(4);
      db.close();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fixture.cleanup();
    }
  });
});
