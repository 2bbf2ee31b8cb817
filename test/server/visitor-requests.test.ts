/**
 * Visitors' costly fold-ins go to worker threads (launch() starts a VisitorPool): the answer is the one
 * the main thread computes, /api/health is answered while they run, and a full queue answers 503 with
 * Retry-After in the API's error shape. The server runs over ML-100K (read from ../shared/datasets, never
 * copied), where a visitor's fold-in with hundreds of ratings is costly (the item RBM's user-unit fit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse, RatingInput, ScoredItem, VisitorPoolStats } from '../../src/api/types.js';
import { modelFromState, type ModelMeta } from '../../src/model/index.js';
import { runImport } from '../../src/cli/importCommand.js';
import { launch, type LaunchedServer } from '../../src/server/main.js';
import { buildSnapshot, type ModelSnapshot } from '../../src/serving/modelHolder.js';
import { ServingService } from '../../src/serving/service.js';
import { CatalogStore, ModelStore, openDatabase } from '../../src/store/index.js';
import { ML100K, tempFolder } from '../helpers/dataFiles.js';
import { request } from './helpers.js';

let folder: { dir: string; cleanup: () => void };
let server: LaunchedServer;
let snapshot: ModelSnapshot;
let serving: ServingService;
let db: ReturnType<typeof openDatabase>;
const logs: string[] = [];
const MIN_RATINGS = 50;
const QUEUE = 2;

/** `n` ratings of the served model's first items, on its scale. */
const ratingsOf = (n: number): RatingInput[] =>
  [...snapshot.itemIndex.keys()]
    .slice(0, n)
    .map((itemId, j) => ({ itemId, rating: snapshot.ratingLevels[j % snapshot.ratingLevels.length] }));

const post = (ratings: RatingInput[], limit = 10) =>
  request<{ items: ScoredItem[] }>(`${server.url}/api/recommendations`, { method: 'POST', json: { ratings, limit } });

/** What the main thread answers for the same request, through JSON as the client sees it. */
const inline = (ratings: RatingInput[], limit = 10): ScoredItem[] =>
  JSON.parse(JSON.stringify(serving.recommendForVisitor(snapshot, ratings, { limit }))) as ScoredItem[];

beforeAll(async () => {
  folder = tempFolder('rbm-visitor-pool-');
  const dbPath = `${folder.dir}/ml100k.db`;
  await runImport({ dataFolder: ML100K, dbPath }, { write: () => true, isTTY: false });
  server = await launch({
    dbPath,
    port: 0,
    pollMs: 0,
    staticDir: null,
    log: (l) => logs.push(l),
    // The default training: an undertrained blend gives the item RBM no weight, and its fold-in is skipped.
    limits: { visitorPerMinute: 0 },
    visitorPool: { size: 1, queueLimit: QUEUE, minRatings: MIN_RATINGS },
  });
  db = openDatabase(dbPath);
  const models = new ModelStore<ModelMeta>(db);
  const catalog = new CatalogStore(db);
  snapshot = buildSnapshot(models.load(models.currentId()!), catalog, modelFromState);
  serving = new ServingService(catalog);
}, 180_000);

afterAll(async () => {
  await server?.close();
  snapshot?.model.dispose();
  db?.close();
  folder?.cleanup();
});

describe('visitor pool behind POST /api/recommendations', () => {
  it('answers a large request (worker) and a small one (inline) exactly as the main thread does', async () => {
    for (const n of [MIN_RATINGS - 1, MIN_RATINGS, 300]) {
      const answer = await post(ratingsOf(n), 20);
      expect(answer.status).toBe(200);
      expect(answer.body.items).toEqual(inline(ratingsOf(n), 20));
    }
  }, 60_000);

  it('answers /api/health while large visitor requests are being computed', async () => {
    let settled = 0;
    const visitors = Array.from({ length: QUEUE + 1 }, () => post(ratingsOf(400)).finally(() => settled++));
    // Health reports the pool's occupancy: an answer that counts every visitor running or queued was given
    // while they were all in flight (on the event loop, no answer could be given during a fold-in).
    let mostInFlight = 0;
    while (settled === 0) {
      const health = await request<HealthResponse>(`${server.url}/api/health`);
      expect(health.status).toBe(200);
      const stats = health.body.visitorPool as VisitorPoolStats;
      expect(stats).toMatchObject({ workers: 1, queueLimit: QUEUE, minRatings: MIN_RATINGS });
      mostInFlight = Math.max(mostInFlight, stats.running + stats.queued);
    }
    // At least one health answer was given while a fold-in was being computed (the event loop was free).
    expect(mostInFlight).toBeGreaterThanOrEqual(1);
    const answers = await Promise.all(visitors);
    for (const a of answers) expect(a.status).toBe(200);
    const after = (await request<HealthResponse>(`${server.url}/api/health`)).body.visitorPool;
    expect(after).toMatchObject({ running: 0, queued: 0 });
  }, 60_000);

  it('answers 503 with Retry-After when the worker is busy and the queue is full, and loses nothing', async () => {
    const ratings = ratingsOf(400);
    const expected = inline(ratings);
    const answers = await Promise.all(Array.from({ length: 12 }, () => post(ratings)));
    const refused = answers.filter((a) => a.status === 503);
    // One worker and a queue of QUEUE: of 12 requests sent together, most must be refused.
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect(a.headers.get('retry-after')).toBe('1');
      expect(a.body).toEqual({ error: { code: 'server_busy', message: expect.stringMatching(/busy.*try again/) } });
    }
    for (const a of answers.filter((x) => x.status !== 503)) {
      expect(a.status).toBe(200);
      expect(a.body.items).toEqual(expected);
    }
    // The pool takes work again once it is free.
    expect((await post(ratings)).body.items).toEqual(expected);
  }, 60_000);

  it('answers an unknown item with 404 before anything reaches the pool', async () => {
    const answer = await post([...ratingsOf(MIN_RATINGS), { itemId: 987_654_321, rating: snapshot.ratingLevels[0] }]);
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: 'unknown_item' } });
  }, 60_000);
});
