/**
 * Integration tests of the HTTP API: the real app, listening on an ephemeral port, over a real SQLite file
 * with a small generated catalog and a bias model (a complete RatingModel, fast and deterministic).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, GENRES, ITEMS, request, SILENT_USER, SOURCE, startApp, type Fixture, type RunningApp } from './helpers.js';

let fixture: Fixture;
let app: RunningApp;
let versionId: number;
/** An item added to the catalog after the model was trained: the model cannot score it. */
const NEW_ITEM = 500;

beforeAll(async () => {
  fixture = createFixture();
  versionId = fixture.trainAndSave();
  // Same source: the import adds the item to the catalog (no model retraining).
  fixture.catalog.importCatalog({
    source: SOURCE,
    layout: 'demo',
    items: [{ itemId: NEW_ITEM, title: 'Brand New Film (2030)', year: 2030, genres: ['Drama'] }],
    ratings: [],
    ratingLevels: [1, 2, 3, 4, 5],
  });
  app = await startApp(fixture);
});

afterAll(async () => {
  await app?.close();
  fixture?.cleanup();
});

const url = (p: string): string => `${app.url}${p}`;

function expectError(res: { status: number; body: unknown }, status: number, code?: string): void {
  expect(res.status).toBe(status);
  const body = res.body as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.message).not.toMatch(/\n\s+at /); // never a stack trace
  if (code) expect(body.error.code).toBe(code);
}

describe('GET /api/health', () => {
  it('reports status, model version, counts, backend and rating levels', async () => {
    const res = await request(url('/api/health'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      // beforeAll imported NEW_ITEM after training: the catalog moved on (generation 1 → 2), the model did not.
      status: 'stale',
      reason: expect.stringContaining('catalog generation 1 → 2'),
      model: { version: versionId, kind: 'bias' },
      data: fixture.catalog.counts(),
      backend: 'cpu',
      ratingLevels: [1, 2, 3, 4, 5],
    });
  });

  it('sends security headers (helmet) and no x-powered-by', async () => {
    const res = await request(url('/api/health'));
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toBeTruthy();
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('GET /api/items', () => {
  it('searches case- and accent-insensitively', async () => {
    const res = await request(url('/api/items?search=miserables'));
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    expect(res.body.items).toEqual([{ itemId: 7, title: 'Misérables, Les (1995)', year: 1995, genres: expect.any(Array) }]);
  });

  it('pages with limit and offset, and reports the total', async () => {
    const first = await request(url('/api/items?limit=5'));
    const second = await request(url('/api/items?limit=5&offset=5'));
    expect(first.body.total).toBe(ITEMS + 1);
    expect(first.body.items).toHaveLength(5);
    expect(second.body.items).toHaveLength(5);
    const ids = new Set([...first.body.items, ...second.body.items].map((i: { itemId: number }) => i.itemId));
    expect(ids.size).toBe(10);
  });

  it('filters by genre (case-insensitively)', async () => {
    const res = await request(url('/api/items?genre=sci-fi&limit=100'));
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    for (const item of res.body.items) expect(item.genres).toContain('Sci-Fi');
  });

  it.each([
    ['limit=0'],
    ['limit=101'],
    ['limit=abc'],
    ['limit=1.5'],
    ['limit=5&limit=6'],
    ['offset=-1'],
    ['genre=Polka'],
    [`search=${'x'.repeat(201)}`],
    ['sort=best'],
    ['sort=Popular'],
    ['sort=popular&sort=title'],
  ])('rejects %s with 400', async (query) => {
    expectError(await request(url(`/api/items?${query}`)), 400, 'invalid_request');
  });

  it('says which sorts exist when given another', async () => {
    const res = await request(url('/api/items?sort=best'));
    expect((res.body as { error: { message: string } }).error.message).toBe('sort must be one of "popular", "rating", "title", got "best"');
  });

  it('sort=popular: most-rated first (within the diversity window), pages that add up to the whole catalog', async () => {
    const counts = new Map(fixture.catalog.itemStats().map((s) => [s.item.itemId, s.ratings]));
    const all: { itemId: number; genres: string[] }[] = [];
    for (let offset = 0; offset < ITEMS + 1; offset += 7) {
      const res = await request(url(`/api/items?sort=popular&limit=7&offset=${offset}`));
      expect(res.status).toBe(200);
      expect(res.body.sort).toBe('popular');
      expect(res.body.total).toBe(ITEMS + 1);
      all.push(...res.body.items);
    }
    expect(new Set(all.map((i) => i.itemId)).size).toBe(ITEMS + 1);
    // The first item is the most-rated one; an item never comes before one with 30+ positions fewer ratings.
    const byCount = [...counts.values()].sort((a, b) => b - a);
    expect(counts.get(all[0].itemId)).toBe(byCount[0]);
    // Unrated items (the one imported after training has no ratings) come last.
    expect(counts.get(all[all.length - 1].itemId)).toBe(0);
  });

  it('sort=rating: by damped mean, with a genre and a search filtering the same order', async () => {
    const stats = new Map(fixture.catalog.itemStats().map((s) => [s.item.itemId, s]));
    const res = await request(url(`/api/items?sort=rating&limit=100`));
    expect(res.status).toBe(200);
    const ids: number[] = res.body.items.map((i: { itemId: number }) => i.itemId);
    const mu = [...stats.values()].reduce((a, s) => a + s.ratingSum, 0) / [...stats.values()].reduce((a, s) => a + s.ratings, 0);
    const rated = ids.filter((id) => stats.get(id)!.ratings > 0);
    const m = Math.min(
      50,
      Math.max(5, [...rated.map((id) => stats.get(id)!.ratings)].sort((a, b) => a - b)[Math.floor((rated.length - 1) / 2)]),
    );
    const damped = (id: number): number => (stats.get(id)!.ratingSum + m * mu) / (stats.get(id)!.ratings + m);
    const enough = ids.filter((id) => stats.get(id)!.ratings >= m);
    expect(ids.slice(0, enough.length)).toEqual(enough);
    for (let n = 1; n < enough.length; n++) expect(damped(enough[n])).toBeLessThanOrEqual(damped(enough[n - 1]) + 1e-12);

    const comedy = await request(url(`/api/items?sort=rating&genre=comedy&limit=100`));
    expect(comedy.body.items.map((i: { itemId: number }) => i.itemId)).toEqual(
      ids.filter((id) => stats.get(id)!.item.genres.includes('Comedy')),
    );
    const search = await request(url(`/api/items?sort=rating&search=film%20number%202&limit=100`));
    expect(search.body.total).toBe(search.body.items.length);
    expect(search.body.items.map((i: { itemId: number }) => i.itemId)).toEqual(
      ids.filter((id) => /^Film Number.*2/.test(stats.get(id)!.item.title)),
    );
  });

  it('sort=title is the default order', async () => {
    const plain = await request(url('/api/items?limit=30'));
    const title = await request(url('/api/items?limit=30&sort=title'));
    expect(title.body).toEqual(plain.body);
    expect(plain.body.sort).toBe('title');
  });
});

describe('GET /api/items/:itemId and /api/genres', () => {
  it('returns one item', async () => {
    const res = await request(url('/api/items/7'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ itemId: 7, title: 'Misérables, Les (1995)', year: 1995 });
  });

  it('404 for an unknown item, 400 for a non-numeric id', async () => {
    expectError(await request(url('/api/items/12345')), 404, 'unknown_item');
    expectError(await request(url('/api/items/abc')), 400, 'invalid_request');
    expectError(await request(url('/api/items/-3')), 400, 'invalid_request');
  });

  it('lists the genres', async () => {
    const res = await request(url('/api/genres'));
    expect(res.body.genres).toEqual([...GENRES].sort());
  });
});

describe('GET /api/users/:userId/recommendations', () => {
  it('returns the top-N unrated items with predicted rating and a distribution over the K levels', async () => {
    const res = await request(url('/api/users/3/recommendations?limit=5'));
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(3);
    const items = res.body.items as { itemId: number; title: string; predicted: number; distribution: number[]; genres: string[] }[];
    expect(items).toHaveLength(5);
    const rated = new Set(fixture.catalog.getUserRatings(3).map((r) => r.itemId));
    for (const item of items) {
      expect(rated.has(item.itemId)).toBe(false);
      expect(item.itemId).not.toBe(NEW_ITEM); // not in the model: cannot be scored
      expect(typeof item.title).toBe('string');
      expect(item.distribution).toHaveLength(5);
      expect(item.distribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
      expect(item.predicted).toBeGreaterThanOrEqual(1);
      expect(item.predicted).toBeLessThanOrEqual(5);
    }
    for (let n = 1; n < items.length; n++) expect(items[n - 1].predicted).toBeGreaterThanOrEqual(items[n].predicted);
  });

  it('defaults to 10 and filters by genre', async () => {
    const all = await request(url('/api/users/3/recommendations'));
    expect(all.body.items.length).toBeLessThanOrEqual(10);
    const drama = await request(url('/api/users/3/recommendations?genre=Drama&limit=100'));
    expect(drama.status).toBe(200);
    expect(drama.body.items.length).toBeGreaterThan(0);
    for (const item of drama.body.items) expect(item.genres).toContain('Drama');
  });

  it('serves a stored user without ratings (fold-in from nothing)', async () => {
    const res = await request(url(`/api/users/${SILENT_USER}/recommendations?limit=3`));
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(3);
  });

  it('rejects bad input', async () => {
    for (const userId of ['abc', '1.5']) expectError(await request(url(`/api/users/${userId}/recommendations`)), 400, 'invalid_request');
    for (const query of ['limit=0', 'limit=101', 'limit=ten', 'genre=Polka']) {
      expectError(await request(url(`/api/users/3/recommendations?${query}`)), 400, 'invalid_request');
    }
    expectError(await request(url('/api/users/4242/recommendations')), 404, 'unknown_user');
  });
});

describe('GET /api/users/:userId/predictions', () => {
  it('predicts the listed items, with the actual rating where there is one', async () => {
    const rated = fixture.catalog.getUserRatings(5);
    const ratedItem = rated[0];
    const unrated = Array.from({ length: ITEMS }, (_, n) => n + 1).find((id) => !rated.some((r) => r.itemId === id))!;
    const res = await request(url(`/api/users/5/predictions?items=${ratedItem.itemId},${unrated},${NEW_ITEM}`));
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(5);
    const [a, b, c] = res.body.predictions;
    expect(a).toMatchObject({ itemId: ratedItem.itemId, actual: ratedItem.value });
    expect(a.distribution).toHaveLength(5);
    expect(b).toMatchObject({ itemId: unrated, actual: null });
    expect(typeof b.predicted).toBe('number');
    // In the catalog but newer than the model: documented as null.
    expect(c).toEqual({ itemId: NEW_ITEM, predicted: null, distribution: null, actual: null });
  });

  it('rejects bad input', async () => {
    expectError(await request(url('/api/users/5/predictions')), 400, 'invalid_request');
    expectError(await request(url('/api/users/5/predictions?items=1,x')), 400, 'invalid_request');
    expectError(await request(url('/api/users/5/predictions?items=1,99999')), 404, 'unknown_item');
    expectError(await request(url('/api/users/x/predictions?items=1')), 400, 'invalid_request');
    expectError(await request(url('/api/users/4242/predictions?items=1')), 404, 'unknown_user');
  });
});

describe('GET /api/users/:userId/ratings', () => {
  it("lists a user's ratings with the items' titles, best first", async () => {
    const res = await request(url('/api/users/2/ratings'));
    expect(res.status).toBe(200);
    const stored = fixture.catalog.getUserRatings(2);
    expect(res.body.ratings).toHaveLength(stored.length);
    for (const r of res.body.ratings)
      expect(r).toMatchObject({ itemId: expect.any(Number), title: expect.any(String), rating: expect.any(Number) });
    const values = res.body.ratings.map((r: { rating: number }) => r.rating);
    expect(values).toEqual([...values].sort((x: number, y: number) => y - x));
  });

  it('404 for an unknown user', async () => {
    expectError(await request(url('/api/users/4242/ratings')), 404, 'unknown_user');
  });
});

describe('POST /api/users/:userId/ratings (fold-in)', () => {
  it('stores the rating and the very next recommendations and predictions reflect it', async () => {
    const userId = 8;
    const before = await request(url(`/api/users/${userId}/recommendations?limit=3`));
    const top = before.body.items[0].itemId as number;
    const probe = before.body.items[1].itemId as number;
    const probeBefore = (await request(url(`/api/users/${userId}/predictions?items=${probe}`))).body.predictions[0].predicted as number;

    const posted = await request(url(`/api/users/${userId}/ratings`), {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: top, rating: 1 },
    });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ userId, itemId: top, rating: 1 });
    expect(fixture.catalog.getUserRatings(userId).find((r) => r.itemId === top)?.value).toBe(1);

    const after = await request(url(`/api/users/${userId}/recommendations?limit=3`));
    expect(after.body.items.map((i: { itemId: number }) => i.itemId)).not.toContain(top);
    const prediction = (await request(url(`/api/users/${userId}/predictions?items=${top},${probe}`))).body.predictions;
    expect(prediction[0].actual).toBe(1);
    // The user was refitted from their ratings: a 1-star rating pulls their other predictions down.
    expect(prediction[1].predicted).toBeLessThan(probeBefore);
  });

  it('creates a new user, who then gets recommendations excluding the rated item', async () => {
    const userId = 777;
    expectError(await request(url(`/api/users/${userId}/recommendations`)), 404, 'unknown_user');
    const posted = await request(url(`/api/users/${userId}/ratings`), {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: 1, rating: 5 },
    });
    expect(posted.status).toBe(201);
    const recs = await request(url(`/api/users/${userId}/recommendations?limit=100`));
    expect(recs.status).toBe(200);
    expect(recs.body.items.length).toBe(ITEMS - 1);
    expect(recs.body.items.map((i: { itemId: number }) => i.itemId)).not.toContain(1);
    const ratings = await request(url(`/api/users/${userId}/ratings`));
    expect(ratings.body.ratings).toMatchObject([{ itemId: 1, rating: 5 }]);
  });

  it('accepts a rating of an item newer than the model (stored; not scorable until retrained)', async () => {
    const res = await request(url('/api/users/2/ratings'), {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: NEW_ITEM, rating: 4 },
    });
    expect(res.status).toBe(201);
    const recs = await request(url('/api/users/2/recommendations'));
    expect(recs.status).toBe(200);
  });

  it.each([
    [{ itemId: 1, rating: 6 }, 'off the scale'],
    [{ itemId: 1, rating: 3.5 }, 'between levels'],
    [{ itemId: 1, rating: 'five' }, 'not a number'],
    [{ itemId: 1 }, 'missing rating'],
    [{ itemId: 'one', rating: 3 }, 'non-numeric item'],
    [{ rating: 3 }, 'missing item'],
    [[1, 2], 'an array'],
  ])('400 for %j (%s)', async (json, _why) => {
    expectError(await request(url('/api/users/3/ratings'), { method: 'POST', headers: fixture.auth, json }), 400, 'invalid_request');
  });

  it('404 for an unknown item, 400 for a non-numeric user', async () => {
    expectError(
      await request(url('/api/users/3/ratings'), { method: 'POST', headers: fixture.auth, json: { itemId: 99999, rating: 3 } }),
      404,
      'unknown_item',
    );
    expectError(
      await request(url('/api/users/abc/ratings'), { method: 'POST', headers: fixture.auth, json: { itemId: 1, rating: 3 } }),
      400,
      'invalid_request',
    );
  });

  it('400 for malformed JSON and for a body that is not JSON', async () => {
    const malformed = await request(url('/api/users/3/ratings'), {
      method: 'POST',
      body: '{"itemId": 1, "rating":',
      headers: { ...fixture.auth, 'content-type': 'application/json' },
    });
    expectError(malformed, 400, 'invalid_json');
    const form = await request(url('/api/users/3/ratings'), {
      method: 'POST',
      body: 'itemId=1&rating=3',
      headers: { ...fixture.auth, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(form, 400, 'invalid_request');
  });

  it('413 for a body over 100 kB', async () => {
    const res = await request(url('/api/users/3/ratings'), {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: 1, rating: 3, padding: 'x'.repeat(110_000) },
    });
    expectError(res, 413, 'payload_too_large');
  });
});

describe('POST /api/recommendations (anonymous visitor)', () => {
  it('folds the visitor in and recommends items they did not rate', async () => {
    const ratings = [
      { itemId: 1, rating: 5 },
      { itemId: 2, rating: 4 },
      { itemId: 7, rating: 1 },
    ];
    const usersBefore = fixture.catalog.counts().users;
    const res = await request(url('/api/recommendations'), { method: 'POST', json: { ratings, limit: 5 } });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(5);
    for (const item of res.body.items) {
      expect([1, 2, 7]).not.toContain(item.itemId);
      expect(item.distribution).toHaveLength(5);
      expect(item).toHaveProperty('title');
    }
    // Nothing was stored for the visitor.
    expect(fixture.catalog.counts().users).toBe(usersBefore);
  });

  it('accepts no ratings (a cold visitor) and a genre', async () => {
    const res = await request(url('/api/recommendations'), { method: 'POST', json: { ratings: [], genre: 'Comedy' } });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    for (const item of res.body.items) expect(item.genres).toContain('Comedy');
  });

  it('a better visitor rating gives higher predictions than a worse one', async () => {
    const happy = await request(url('/api/recommendations'), { method: 'POST', json: { ratings: [{ itemId: 3, rating: 5 }], limit: 1 } });
    const grumpy = await request(url('/api/recommendations'), { method: 'POST', json: { ratings: [{ itemId: 3, rating: 1 }], limit: 1 } });
    expect(happy.body.items[0].predicted).toBeGreaterThan(grumpy.body.items[0].predicted);
  });

  it.each([
    [{ ratings: [{ itemId: 1, rating: 0 }] }, 'off the scale'],
    [{ ratings: [{ itemId: 'a', rating: 3 }] }, 'non-numeric item'],
    [
      {
        ratings: [
          { itemId: 1, rating: 3 },
          { itemId: 1, rating: 4 },
        ],
      },
      'duplicate item',
    ],
    [{ ratings: 'lots' }, 'ratings not an array'],
    [{ ratings: [5] }, 'rating entry not an object'],
    [{ ratings: [], limit: 0 }, 'limit 0'],
    [{ ratings: [], limit: 101 }, 'limit 101'],
    [{ ratings: [], limit: '5' }, 'limit a string'],
    [{ ratings: [], genre: 'Polka' }, 'unknown genre'],
    [{ ratings: [], genre: 3 }, 'genre not a string'],
  ])('400 for %j (%s)', async (json, _why) => {
    expectError(await request(url('/api/recommendations'), { method: 'POST', json }), 400, 'invalid_request');
  });

  it('404 for an unknown item, 400 for malformed JSON, 413 for a huge body', async () => {
    expectError(
      await request(url('/api/recommendations'), { method: 'POST', json: { ratings: [{ itemId: 99999, rating: 3 }] } }),
      404,
      'unknown_item',
    );
    expectError(
      await request(url('/api/recommendations'), {
        method: 'POST',
        body: '{"ratings": [',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'invalid_json',
    );
    const many = Array.from({ length: 5000 }, (_, n) => ({ itemId: n + 1, rating: 3 }));
    expectError(await request(url('/api/recommendations'), { method: 'POST', json: { ratings: many } }), 413, 'payload_too_large');
  });
});

describe('GET /api/model', () => {
  it("returns the served version's hyperparameters, metrics and training curve", async () => {
    const res = await request(url('/api/model'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      version: versionId,
      kind: 'bias',
      ratingLevels: [1, 2, 3, 4, 5],
      hyperparameters: { regItem: 10, regUser: 15 },
      algorithm: 'bias',
      metrics: { bias: 0.9 },
      curve: [{ phase: 'bias', epoch: 1, trainRmse: 1 }],
    });
  });
});

describe('everything else', () => {
  it('404 JSON for an unknown API route', async () => {
    expectError(await request(url('/api/nothing-here')), 404, 'not_found');
    // Not a read, so the token comes first (deny by default); with one, there is still no such route.
    expectError(await request(url('/api/items'), { method: 'DELETE' }), 401, 'unauthorized');
    expectError(await request(url('/api/items'), { method: 'DELETE', headers: fixture.auth }), 404, 'not_found');
  });

  it('serves a short note at / when the page is not built', async () => {
    const res = await request(url('/'));
    expect(res.status).toBe(200);
    expect(res.body).toContain('npm run build:web');
  });

  it('serves the built page from its folder', async () => {
    const staticDir = path.join(fixture.dir, 'dist');
    mkdirSync(staticDir, { recursive: true });
    writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>RBM</title>');
    const withPage = await startApp(fixture, { staticDir });
    try {
      const res = await request(`${withPage.url}/`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('<title>RBM</title>');
      expect(res.headers.get('content-security-policy')).toBeTruthy();
    } finally {
      await withPage.close();
    }
  });

  it('logged no internal error', () => {
    expect(app.logs.filter((l) => l.startsWith('internal error'))).toEqual([]);
  });
});
