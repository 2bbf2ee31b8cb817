/**
 * The server as `launch()` and `npm start -- --workers 2` run it: the catalog and every user's top list in
 * memory, a rating posted to this process or written by another connection (another worker, an import)
 * reflected in the next answers, and two worker processes on one port that see each other's writes.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultWorkers, parseStartArgs } from '../../src/cli/startCommand.js';
import { UsageError } from '../../src/cli/common.js';
import { launch, type LaunchedServer } from '../../src/server/main.js';
import { CatalogStore, openDatabase } from '../../src/store/index.js';
import { createFixture, ITEMS, request, type Fixture } from './helpers.js';

let fixture: Fixture;

beforeEach(() => {
  fixture = createFixture();
  fixture.trainAndSave();
});

afterEach(() => fixture.cleanup());

/** A GET on a connection of its own (no keep-alive), so that the cluster hands each to the next worker. */
function getOnNewConnection(url: string): Promise<{
  status: number;
  body: {
    items?: { itemId: number }[];
    ratings?: { itemId: number; rating: number }[];
  };
}> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

const unratedBy = (catalog: CatalogStore, userId: number): number =>
  Array.from({ length: ITEMS }, (_, n) => n + 1).find((id) => !catalog.getUserRatings(userId).some((r) => r.itemId === id))!;

/** Launch options for the fixture's database: no polling, no log, no write limit; `changeCheckMs` as given. */
const quietServer = (changeCheckMs: number) => ({
  dbPath: fixture.dbPath,
  port: 0,
  staticDir: null,
  pollMs: 0,
  changeCheckMs,
  log: () => {},
  limits: { writesPerMinute: 0 },
});

/** The item ids of a user's whole recommendation list from the server at `url`. */
const recommendedAt = async (url: string, userId: number): Promise<number[]> =>
  ((await request(`${url}/api/users/${userId}/recommendations?limit=${ITEMS}`)).body.items as { itemId: number }[]).map((i) => i.itemId);

describe('launch(): answers from memory, writes reflected', () => {
  let server: LaunchedServer;
  afterEach(async () => server.close());

  it('reflects a rating posted to it and one written by another connection in the next recommendations', async () => {
    server = await launch(quietServer(0));
    const recommended = (userId: number): Promise<number[]> => recommendedAt(server.url, userId);

    // Posted to this process: the item leaves the user's recommendations in the very next answer.
    const first = (await recommended(2))[0];
    const posted = await request(`${server.url}/api/users/2/ratings`, {
      method: 'POST',
      json: { itemId: first, rating: 5 },
      headers: fixture.auth,
    });
    expect(posted.status).toBe(201);
    expect(await recommended(2)).not.toContain(first);

    // Written by another connection (the fixture's own): reflected as soon as the server looks (every request here).
    const best = (await recommended(3))[0];
    fixture.catalog.upsertRating(3, best, 1, 4_000_000);
    expect(await recommended(3)).not.toContain(best);
    const ratings = (await request(`${server.url}/api/users/3/ratings`)).body.ratings as { itemId: number; rating: number }[];
    expect(ratings.find((r) => r.itemId === best)?.rating).toBe(1);
    const health = (await request(`${server.url}/api/health`)).body;
    expect(health.data.ratings).toBe(fixture.catalog.counts().ratings);
  });
});

describe('read-your-writes across server processes', () => {
  it('after a 2xx rating POST to one server, the same user’s next read on another reflects it, without waiting for a look', async () => {
    // Two servers over one file, each with its own connection, as two workers are; neither looks at the
    // change feed on its own during the test, so only the per-user check can make the second see the write.
    const options = quietServer(60_000);
    const writer = await launch(options);
    const reader = await launch(options);
    try {
      const recommended = (userId: number): Promise<number[]> => recommendedAt(reader.url, userId);
      for (const userId of [2, 4, 6]) {
        // The reader has the user in memory (ratings and the precomputed list) before the write.
        const [first] = await recommended(userId);
        expect((await request(`${reader.url}/api/users/${userId}/ratings`)).status).toBe(200);
        const posted = await request(`${writer.url}/api/users/${userId}/ratings`, {
          method: 'POST',
          json: { itemId: first, rating: 1 },
          headers: fixture.auth,
        });
        expect(posted.status).toBe(201);
        expect(await recommended(userId)).not.toContain(first);
        const ratings = (await request(`${reader.url}/api/users/${userId}/ratings`)).body.ratings as { itemId: number; rating: number }[];
        expect(ratings.find((r) => r.itemId === first)?.rating).toBe(1);
        const predictions = (await request(`${reader.url}/api/users/${userId}/predictions?items=${first}`)).body.predictions as {
          actual: number | null;
        }[];
        expect(predictions[0].actual).toBe(1);
      }
      // A user created by the write is known to the other at once too.
      const created = await request(`${writer.url}/api/users/777/ratings`, {
        method: 'POST',
        json: { itemId: 3, rating: 5 },
        headers: fixture.auth,
      });
      expect(created.status).toBe(201);
      expect(
        (await request(`${reader.url}/api/users/777/recommendations?limit=${ITEMS}`)).body.items.map((i: { itemId: number }) => i.itemId),
      ).not.toContain(3);
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});

describe('start arguments', () => {
  it('size the visitor pool: one thread per process beside other processes, flags and environment win', () => {
    expect(parseStartArgs(['--workers', '2'], {})).toMatchObject({ visitorPool: { size: 1, queueLimit: 32, minRatings: 50 } });
    expect(parseStartArgs(['--workers', '1'], {})).toMatchObject({ visitorPool: { size: Math.max(1, os.availableParallelism() - 1) } });
    expect(parseStartArgs(['--visitor-workers', '0', '--visitor-queue', '4'], { VISITOR_MIN_RATINGS: '100' })).toMatchObject({
      visitorPool: { size: 0, queueLimit: 4, minRatings: 100 },
    });
    expect(() => parseStartArgs([], { VISITOR_QUEUE: '-1' })).toThrow('--visitor-queue (or VISITOR_QUEUE)');
  });

  it('take the number of workers and of precomputed items, with defaults and clear refusals', () => {
    expect(parseStartArgs([], {})).toMatchObject({
      workers: defaultWorkers(),
      topLists: { size: 100 },
    });
    expect(parseStartArgs(['--workers', '3', '--top-lists', '0', '--poll-ms', '250'], {})).toMatchObject({
      workers: 3,
      topLists: { size: 0 },
      pollMs: 250,
    });
    expect(parseStartArgs([], { WORKERS: '1', TOP_LISTS: '20' })).toMatchObject({ workers: 1, topLists: { size: 20 } });
    expect(() => parseStartArgs(['--workers', '0'], {})).toThrow(UsageError);
    expect(() => parseStartArgs(['--workers', '0'], {})).toThrow('--workers (or WORKERS)');
  });
});

describe('npm start -- --workers 2', () => {
  it('runs two workers on one port; a write through one is seen by the other; SIGTERM drains both', async () => {
    fixture.db.close();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/start.ts', '--port', '0', '--workers', '2', '--write-rate-limit', '0'],
      {
        env: { ...process.env, DB_PATH: fixture.dbPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /^listening on (\S+)$/.exec(line);
          if (match) resolve(match[1]);
        });
        child.on('exit', () => reject(new Error(`the server exited before listening: ${stderr}`)));
      });
      expect(stderr).toContain('2 worker processes listening');
      expect(new Set([...stderr.matchAll(/\[worker (\d+)\] serving model version/g)].map((m) => m[1])).size).toBe(2);

      const db = openDatabase(fixture.dbPath);
      const itemId = unratedBy(new CatalogStore(db), 6);
      db.close();
      const posted = await request(`${url}/api/users/6/ratings`, {
        method: 'POST',
        json: { itemId, rating: 2 },
        headers: fixture.auth,
      });
      expect(posted.status).toBe(201);
      // Each GET on its own connection goes to the next worker: four in a row cover both, and every one
      // must show the rating at once (read-your-writes: the worker that did not write checks the user).
      const answers = await Promise.all([0, 1, 2, 3].map(() => getOnNewConnection(`${url}/api/users/6/ratings`)));
      for (const answer of answers) expect(answer.body.ratings!.find((r) => r.itemId === itemId)?.rating).toBe(2);
      const recommendations = await Promise.all(
        [0, 1, 2, 3].map(() => getOnNewConnection(`${url}/api/users/6/recommendations?limit=${ITEMS}`)),
      );
      for (const answer of recommendations) expect(answer.body.items!.map((i) => i.itemId)).not.toContain(itemId);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('SIGTERM: finishing requests in flight in 2 worker(s)');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
