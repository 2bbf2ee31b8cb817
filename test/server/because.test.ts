/**
 * `because` through the real paths: the API (a stored user's GET and a visitor's POST), the batch scorer's
 * `--explain` columns, over a small watch-like model trained on the fixture catalog and saved as the
 * current version. Its rating blend is the user RBM with the bias baseline, whose `because` is exact, so
 * the faithfulness check here is limited only by the API's 4-decimal rounding (score and influence each
 * rounded to ±5e-5: ROUNDING = 1.5e-4 covers the three roundings in two scores' difference and an influence). The
 * item RBM's held-fixed unit is measured in test/model/because.test.ts.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScoreArgs, runScore } from '../../src/cli/scoreCommand.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';
import type { BecauseItem } from '../../src/api/types.js';
import { WatchLikeModel } from '../../src/model/watchLike.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitImplicitRbm, likedLevelIndex } from '../../src/rbm/implicit.js';
import { createFixture, ITEMS, request, startApp, type Fixture, type RunningApp } from './helpers.js';

type Because = BecauseItem;
interface Rec {
  itemId: number;
  score: number;
  because: Because[];
}

const ROUNDING = 1.5e-4 + 1e-9;
let fixture: Fixture;
let app: RunningApp;

beforeAll(async () => {
  await initBackend();
  fixture = createFixture();
  const data = fixture.catalog.loadDataset();
  const small = { hidden: 8, epochs: 20, lr: 0.05, batchSize: 4, seed: 1, validationFraction: 0.1 };
  const rating = (await fitRbmBlend(data, { ...small, orientation: 'user' }, { parallel: false })).model;
  const implicit = await fitImplicitRbm(data, { hidden: 8, epochs: 20, lr: 0.1, batchSize: 4, validationFraction: 0.2, seed: 1 });
  const state = new WatchLikeModel(rating, implicit, likedLevelIndex(data.ratingLevels)).toState();
  fixture.models.saveVersion(state.meta, state.tensors);
  app = await startApp(fixture);
});

afterAll(async () => {
  await app?.close();
  fixture?.cleanup();
});

const titleOf = (itemId: number): string | undefined => fixture.catalog.getItem(itemId)?.title;

function checkShape(items: Rec[], ratingOf: Map<number, number>): void {
  for (const item of items) {
    expect(item.because.length).toBeLessThanOrEqual(3);
    for (const [n, b] of item.because.entries()) {
      expect(Object.keys(b).sort()).toEqual(['influence', 'itemId', 'liked', 'raises', 'rating', 'title']);
      expect(b.title).toBe(titleOf(b.itemId));
      expect(b.rating).toBe(ratingOf.get(b.itemId));
      // "Liked" is 4★ or more on this 1–5 scale, the level the score's p(like) counts from.
      expect(b.liked).toBe(b.rating >= 4);
      expect(['watch', 'like', 'both']).toContain(b.raises);
      // Stands out: positive and ≥ 1 % of the score (both rounded to 4 decimals).
      expect(b.influence).toBeGreaterThanOrEqual(0.01 * item.score - 1e-4);
      expect(b.influence).toBeGreaterThan(0);
      // Reasons that raise both parts first, then the rest; largest influence first within each.
      if (n > 0) {
        const previous = item.because[n - 1];
        expect(previous.raises === 'both' || b.raises !== 'both').toBe(true);
        if ((previous.raises === 'both') === (b.raises === 'both')) expect(b.influence).toBeLessThanOrEqual(previous.influence);
      }
    }
  }
}

describe('because in the API', () => {
  it('a stored user: every recommendation carries its because, from their own ratings', async () => {
    let listed = 0;
    for (const userId of [1, 2, 3, 4]) {
      const res = await request<{ items: Rec[] }>(`${app.url}/api/users/${userId}/recommendations?limit=8`);
      expect(res.status).toBe(200);
      const ratings = new Map(fixture.catalog.getUserRatings(userId).map((r) => [r.itemId, r.value]));
      checkShape(res.body.items, ratings);
      listed += res.body.items.filter((i) => i.because.length > 0).length;
    }
    expect(listed).toBeGreaterThan(0);
  });

  it('a visitor: removing the top because rating and posting again lowers the score by the influence', async () => {
    const posted = fixture.catalog.getUserRatings(5).map((r) => ({ itemId: r.itemId, rating: r.value }));
    const all = async (ratings: typeof posted): Promise<Map<number, Rec>> => {
      const res = await request<{ items: Rec[] }>(`${app.url}/api/recommendations`, { method: 'POST', json: { ratings, limit: ITEMS } });
      expect(res.status).toBe(200);
      return new Map(res.body.items.map((i) => [i.itemId, i]));
    };
    const before = await all(posted);
    checkShape([...before.values()], new Map(posted.map((r) => [r.itemId, r.rating])));
    let checked = 0;
    for (const item of before.values()) {
      const top = item.because[0];
      if (!top) continue;
      const after = await all(posted.filter((r) => r.itemId !== top.itemId));
      expect(Math.abs(item.score - after.get(item.itemId)!.score - top.influence)).toBeLessThanOrEqual(ROUNDING);
      checked++;
    }
    expect(checked).toBeGreaterThan(3);
  });

  it("a stored user's because follows their ratings: after a new rating, the same as a visitor posting them", async () => {
    const userId = 6;
    const get = async (): Promise<Rec[]> =>
      (await request<{ items: Rec[] }>(`${app.url}/api/users/${userId}/recommendations?limit=${ITEMS}`)).body.items;
    const first = await get();
    expect(await get()).toEqual(first); // a repeated request: the same answer (explanations remembered with the scores)
    // Change the rating behind the first listed because (or any rating), then compare with a visitor who
    // posts the same ratings: this model has no per-user parameters besides b_u, which serving refits.
    const changed = first.find((i) => i.because.length > 0)?.because[0].itemId ?? fixture.catalog.getUserRatings(userId)[0].itemId;
    const old = fixture.catalog.getUserRatings(userId).find((r) => r.itemId === changed)!.value;
    const res = await request(`${app.url}/api/users/${userId}/ratings`, {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: changed, rating: old >= 3 ? 1 : 5 },
    });
    expect(res.status).toBe(201);
    const after = await get();
    const ratings = fixture.catalog.getUserRatings(userId).map((r) => ({ itemId: r.itemId, rating: r.value }));
    const visitor = (await request<{ items: Rec[] }>(`${app.url}/api/recommendations`, { method: 'POST', json: { ratings, limit: ITEMS } }))
      .body.items;
    expect(after.map((i) => i.itemId)).toEqual(visitor.map((i) => i.itemId));
    after.forEach((item, n) => {
      expect(item.because.map((b) => [b.itemId, b.rating, b.raises])).toEqual(
        visitor[n].because.map((b) => [b.itemId, b.rating, b.raises]),
      );
      item.because.forEach((b, t) => expect(Math.abs(b.influence - visitor[n].because[t].influence)).toBeLessThanOrEqual(ROUNDING));
    });
    checkShape(after, new Map(ratings.map((r) => [r.itemId, r.rating])));
  });

  it('no ratings, nothing to explain: empty lists', async () => {
    const res = await request<{ items: Rec[] }>(`${app.url}/api/recommendations`, { method: 'POST', json: { ratings: [], limit: 5 } });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    for (const item of res.body.items) expect(item.because).toEqual([]);
  });
});

describe('because in the batch scorer', () => {
  it("--explain adds because1ItemId … because3Influence: the API's because, row for row", async () => {
    const out = path.join(fixture.dir, 'explained.csv');
    const command = parseScoreArgs(['--db', fixture.dbPath, '--out', out, '--top', '6', '--users', '1,2,3', '--explain']);
    if (command === 'help') throw new Error('unexpected help');
    await runScore(command);
    const rows = Papa.parse<string[]>(readFileSync(out, 'utf8').trim()).data;
    expect(rows[0]).toEqual([
      'userId',
      'rank',
      'itemId',
      'predicted',
      'score',
      ...[1, 2, 3].flatMap((n) => [`because${n}ItemId`, `because${n}Rating`, `because${n}Influence`]),
    ]);
    let nonEmpty = 0;
    for (const userId of [1, 2, 3]) {
      const api = await request<{ items: Rec[] }>(`${app.url}/api/users/${userId}/recommendations?limit=6`);
      const userRows = rows.slice(1).filter((r) => r[0] === String(userId));
      expect(userRows.map((r) => Number(r[2]))).toEqual(api.body.items.map((i) => i.itemId));
      userRows.forEach((r, rank) => {
        const because = api.body.items[rank].because;
        const cells = r.slice(5);
        expect(cells).toHaveLength(9);
        for (let n = 0; n < 3; n++) {
          const b = because[n];
          expect(cells.slice(3 * n, 3 * n + 3)).toEqual(b ? [String(b.itemId), String(b.rating), b.influence.toFixed(4)] : ['', '', '']);
          if (b) nonEmpty++;
        }
      });
    }
    expect(nonEmpty).toBeGreaterThan(0);
  });

  it('--explain is refused with --pairs', () => {
    expect(() => parseScoreArgs(['--out', 'x.csv', '--pairs', 'p.csv', '--explain'])).toThrow(/--pairs cannot be combined with --explain/);
  });
});
