/**
 * Serving replicas over one PostgreSQL database, as on several machines: two `npm start --db postgres://…`
 * processes (no shared memory, no shared files) on a temporary cluster. A rating posted to one is read
 * back from the other; a model saved elsewhere is served by both without a restart; a replica killed with
 * -9 loses nothing; PostgreSQL stopped under a small load gives 503s (never 500s, never a hang), the
 * replicas recover by themselves, and every write acknowledged with a 2xx is in the database afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, stopProcess } from '../../src/cli/serverProcess.js';
import { fitBiasModel } from '../../src/model/bias.js';
import type { ModelMeta } from '../../src/model/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createTestDatabase, startPostgresCluster, type PostgresCluster } from '../helpers/postgresCluster.js';
import { eventually, fixtureCatalog, ITEMS, request } from './helpers.js';

let cluster: PostgresCluster;
let db: string;
let store: Store<ModelMeta>;
let auth: Record<string, string>;
const children: ChildProcess[] = [];

async function saveBiasModel(regUser: number): Promise<number> {
  const state = fitBiasModel(await store.catalog.loadDataset(), { regUser }).toState();
  state.meta.training = { validation: { bias: 0.9 }, curve: [], backend: 'cpu' };
  return store.models.saveVersion(state.meta, state.tensors);
}

async function startReplica(): Promise<{ url: string; child: ChildProcess }> {
  const { child, url } = spawnServer(db, ['--workers', '1', '--visitor-workers', '0', '--poll-ms', '500']);
  children.push(child);
  return { url: await url, child };
}

const servedVersion = async (url: string): Promise<number | null> =>
  (await request<{ model: { version: number } | null }>(`${url}/api/health`)).body.model?.version ?? null;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  db = await createTestDatabase(cluster.adminUrl, 'replicas');
  store = await openStore<ModelMeta>(db);
  await store.catalog.importCatalog(fixtureCatalog());
  await saveBiasModel(5);
  auth = { authorization: `Bearer ${(await store.tokens.create('replica test')).token}` };
});

afterAll(async () => {
  for (const child of children) await stopProcess(child);
  await store?.close();
  cluster?.destroy();
});

describe('two replicas over one PostgreSQL database', () => {
  let a: { url: string; child: ChildProcess };
  let b: { url: string; child: ChildProcess };

  it('serve the same catalog and model', async () => {
    [a, b] = await Promise.all([startReplica(), startReplica()]);
    const [ha, hb] = await Promise.all([request(`${a.url}/api/health`), request(`${b.url}/api/health`)]);
    expect(ha.body.model.version).toBe(hb.body.model.version);
    expect(ha.body.data).toEqual(hb.body.data);
    const items = await request(`${b.url}/api/items?limit=5`);
    expect(items.status).toBe(200);
    expect(items.body).toEqual((await request(`${a.url}/api/items?limit=5`)).body);
  });

  it('a rating posted to one is read back from the other at once, and its change feed reports it', async () => {
    const userId = 4242;
    const posted = await request(`${a.url}/api/users/${userId}/ratings`, { method: 'POST', headers: auth, json: { itemId: 3, rating: 5 } });
    expect(posted.status).toBe(201);
    // Read-your-writes on another replica: the very first read sees it.
    const read = await request<{ ratings: { itemId: number; rating: number }[] }>(`${b.url}/api/users/${userId}/ratings`);
    expect(read.body.ratings).toEqual([expect.objectContaining({ itemId: 3, rating: 5 })]);
    // Without any request for that user, B's counts follow through LISTEN/NOTIFY.
    const before = (await request(`${b.url}/api/health`)).body.data.ratings as number;
    const second = await request(`${a.url}/api/users/${userId + 1}/ratings`, {
      method: 'POST',
      headers: auth,
      json: { itemId: 4, rating: 2 },
    });
    expect(second.status).toBe(201);
    await eventually(async () => (await request(`${b.url}/api/health`)).body.data.ratings === before + 1);
  });

  it('switch to a model saved elsewhere without a restart', async () => {
    const versionId = await saveBiasModel(25);
    await eventually(async () => (await servedVersion(a.url)) === versionId && (await servedVersion(b.url)) === versionId, 100);
    const recs = await request(`${b.url}/api/users/1/recommendations?limit=3`);
    expect(recs.status).toBe(200);
    expect(recs.body.items).toHaveLength(3);
  });

  it('lose nothing to a replica killed with -9, nor to PostgreSQL restarted under load: 503 while it is down, then recovery', async () => {
    const acknowledged: { userId: number; itemId: number; rating: number }[] = [];
    const statuses = new Map<number, number>();
    let slowest = 0;
    const post = async (url: string, userId: number, itemId: number, rating: number): Promise<void> => {
      const started = Date.now();
      let status: number;
      try {
        status = (await request(`${url}/api/users/${userId}/ratings`, { method: 'POST', headers: auth, json: { itemId, rating } })).status;
      } catch {
        status = -1; // the connection itself failed (the killed replica)
      }
      slowest = Math.max(slowest, Date.now() - started);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) acknowledged.push({ userId, itemId, rating });
    };

    // Writes through B, then kill -9: what it acknowledged is committed.
    for (let n = 0; n < 10; n++) await post(b.url, 5000 + n, 1 + (n % ITEMS), 1 + (n % 5));
    b.child.kill('SIGKILL');

    // A small load on A (one write every 25 ms) while PostgreSQL stops and starts again.
    let running = true;
    let n = 0;
    const load = (async () => {
      while (running) {
        n++;
        await post(a.url, 6000 + (n % 50), 1 + (n % ITEMS), 1 + (n % 5));
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await eventually(async () => acknowledged.length >= 15);
    cluster.stop();
    // While it is down: writes 503 with a JSON body, reads still answered from memory.
    await eventually(async () => (statuses.get(503) ?? 0) >= 3);
    const down = await request(`${a.url}/api/users/6001/ratings`, { method: 'POST', headers: auth, json: { itemId: 2, rating: 4 } });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('database_unavailable');
    expect((await request(`${a.url}/api/users/1/recommendations?limit=3`)).status).toBe(200);
    cluster.start();
    // Recovery by itself: acknowledged writes resume.
    const before = acknowledged.length;
    await eventually(async () => acknowledged.length >= before + 10);
    running = false;
    await load;

    expect(statuses.get(500) ?? 0).toBe(0);
    expect([...statuses.keys()].every((s) => [201, 503, -1].includes(s))).toBe(true);
    // Never a hang: the server's timeouts answer well before a client would give up.
    expect(slowest).toBeLessThan(15_000);
    // Every acknowledged write is in the database (the last one per (user, item) is what must be there).
    const latest = new Map(acknowledged.map((w) => [`${w.userId}:${w.itemId}`, w]));
    const check = await openStore<ModelMeta>(db);
    try {
      for (const w of latest.values()) {
        const ratings = await check.catalog.getUserRatings(w.userId);
        expect(ratings.find((r) => r.itemId === w.itemId)?.value, `user ${w.userId}, item ${w.itemId}`).toBe(w.rating);
      }
    } finally {
      await check.close();
    }
    // The replica's change feed reconnected: a write by another client of the database reaches its memory.
    const users = (await request(`${a.url}/api/health`)).body.data.users as number;
    // The test's own pool may still hold a connection from before the restart: one retry.
    await store.catalog.upsertRating(7777, 5, 3, 1_700_000_000).catch(() => store.catalog.upsertRating(7777, 5, 3, 1_700_000_000));
    await eventually(async () => (await request(`${a.url}/api/health`)).body.data.users === users + 1, 100);
  });

  it('share one rate limit between replicas: a client has one budget whichever replica it reaches', async () => {
    const spawn = async (): Promise<string> => {
      const { child, url } = spawnServer(db, ['--workers', '1', '--visitor-workers', '0', '--write-rate-limit', '3']);
      children.push(child);
      return url;
    };
    const [c, d] = await Promise.all([spawn(), spawn()]);
    const rate = async (url: string, itemId: number): Promise<number> =>
      (await request(`${url}/api/users/8000/ratings`, { method: 'POST', headers: auth, json: { itemId, rating: 3 } })).status;
    expect(await rate(c, 1)).toBe(201);
    expect(await rate(d, 2)).toBe(201);
    expect(await rate(c, 3)).toBe(201);
    const refused = await request(`${d}/api/users/8000/ratings`, { method: 'POST', headers: auth, json: { itemId: 4, rating: 3 } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
  });
});
