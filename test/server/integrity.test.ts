/**
 * The server under hostile or unlucky conditions: another connection holding the write lock, a catalog
 * replaced under a running model, a damaged current version at start, API tokens, rate limits, the Host
 * allow-list, strict rating values, the visitor cap, source maps.
 */
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launch } from '../../src/server/main.js';
import { MAX_VISITOR_RATINGS } from '../../src/server/validation.js';
import { openDatabase, SERVER_BUSY_TIMEOUT_MS, type Database } from '../../src/store/index.js';
import { createFixture, fixtureCatalog, request, startApp, type Fixture, type RunningApp } from './helpers.js';

let fixture: Fixture;
let app: RunningApp | null = null;
beforeEach(() => {
  fixture = createFixture();
  fixture.trainAndSave();
});
afterEach(async () => {
  await app?.close();
  app = null;
  fixture.cleanup();
});

function expectErrorBody(res: { status: number; body: unknown }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({
    error: { code, message: expect.any(String) },
  });
}

describe('a write lock held by another connection', () => {
  let other: Database;
  afterEach(() => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
  });

  it('answers a write 503 with Retry-After (not 500) after its short wait, while reads and health keep answering', async () => {
    fixture.db.pragma(`busy_timeout = ${SERVER_BUSY_TIMEOUT_MS}`); // as launch() sets it once listening
    app = await startApp(fixture);
    other = openDatabase(fixture.dbPath);
    other.exec('BEGIN IMMEDIATE'); // e.g. an import writing

    const write = await request(`${app.url}/api/users/1/ratings`, {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: 2, rating: 4 },
    });
    expectErrorBody(write, 503, 'database_busy');
    expect(write.headers.get('retry-after')).toBe('1');
    expect((await request(`${app.url}/api/health`)).status).toBe(200);
    expect((await request(`${app.url}/api/users/1/recommendations?limit=3`)).status).toBe(200);
    expect(app.logs.filter((l) => l.includes('internal error'))).toEqual([]);

    other.exec('COMMIT');
    const retried = await request(`${app.url}/api/users/1/ratings`, {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: 2, rating: 4 },
    });
    expect(retried.status).toBe(201);
  });

  it('the server connection never waits inside SQLite (a busy_timeout wait freezes the event loop)', () => {
    expect(SERVER_BUSY_TIMEOUT_MS).toBe(0);
  });

  it('a write waits for the lock off the event loop: reads answer meanwhile, and the write lands once the lock is free', async () => {
    fixture.db.close();
    // A wait far longer than the test needs, so that the write is still waiting when health answers.
    const server = await launch({ dbPath: fixture.dbPath, port: 0, log: () => {}, pollMs: 0, staticDir: null, writeLockWaitMs: 60_000 });
    try {
      other = openDatabase(fixture.dbPath);
      other.exec('BEGIN IMMEDIATE'); // e.g. an import writing
      let settled = false;
      const write = request(`${server.url}/api/users/1/ratings`, {
        method: 'POST',
        headers: fixture.auth,
        json: { itemId: 2, rating: 4 },
      }).finally(() => (settled = true));
      // Give the write time to reach the server and meet the lock (not a timing assertion: with a wait on
      // the event loop it would be answered first however long this is).
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (let n = 0; n < 3; n++) expect((await request(`${server.url}/api/health`)).status).toBe(200);
      expect((await request(`${server.url}/api/users/1/recommendations?limit=3`)).status).toBe(200);
      expect(settled).toBe(false);
      other.exec('COMMIT');
      expect((await write).status).toBe(201);
    } finally {
      await server.close();
    }
  });
});

describe('a catalog replaced under a running model', () => {
  it('reports stale in health and keeps the model and its titles together until a matching model is current', async () => {
    app = await startApp(fixture);
    const before = await request(`${app.url}/api/items/7`);
    expect(before.body.title).toBe('Misérables, Les (1995)');
    expect((await request(`${app.url}/api/health`)).body.status).toBe('ok');

    const replacement = fixtureCatalog(3);
    replacement.source = 'test:replacement';
    replacement.items = replacement.items.map((item) => ({
      ...item,
      title: `Other Film ${item.itemId} (2001)`,
    }));
    fixture.catalog.importCatalog(replacement);
    app.holder.refresh();

    const health = await request(`${app.url}/api/health`);
    expect(health.body.status).toBe('stale');
    expect(health.body.reason).toMatch(/the catalog changed after model version 1 was trained .*run npm run train/);
    // The item as the served model knows it, the same title its recommendations carry.
    expect((await request(`${app.url}/api/items/7`)).body.title).toBe('Misérables, Les (1995)');
    const recs = await request(`${app.url}/api/recommendations`, {
      method: 'POST',
      json: { ratings: [], limit: 100 },
    });
    const seven = (recs.body.items as { itemId: number; title: string }[]).find((i) => i.itemId === 7);
    expect(seven?.title).toBe('Misérables, Les (1995)');

    const retrained = fixture.trainAndSave();
    app.holder.refresh();
    const fresh = await request(`${app.url}/api/health`);
    expect(fresh.body).toMatchObject({
      status: 'ok',
      model: { version: retrained },
    });
    expect(fresh.body.reason).toBeUndefined();
    expect((await request(`${app.url}/api/items/7`)).body.title).toBe('Other Film 7 (2001)');
  });
});

describe('start-up with a damaged current version', () => {
  it('serves the newest version that loads and says which one was skipped and why', async () => {
    const good = fixture.models.currentId();
    const damaged = fixture.trainAndSave();
    // Damage every stored value of the version (tensors are kept in chunks).
    fixture.db.prepare("UPDATE model_tensor_chunks SET data = x'00' WHERE version_id = ?").run(damaged);
    fixture.db.close();
    const logs: string[] = [];
    const server = await launch({
      dbPath: fixture.dbPath,
      port: 0,
      log: (l) => logs.push(l),
      pollMs: 0,
      staticDir: null,
    });
    try {
      expect((await request(`${server.url}/api/health`)).body.model.version).toBe(good);
      expect(logs.join('\n')).toMatch(new RegExp(`model version ${damaged} could not be loaded.*is corrupt`));
      expect(logs.join('\n')).toContain(`the current model version ${damaged} could not be loaded (reason above): serving version ${good}`);
    } finally {
      await server.close();
    }
  });
});

describe('API tokens on writes', () => {
  const post = (headers: Record<string, string>) =>
    request(`${app!.url}/api/users/4/ratings`, {
      method: 'POST',
      headers,
      json: { itemId: 5, rating: 2 },
    });

  it('requires a token, accepts a valid one, refuses it once revoked; reads and the visitor flow need none', async () => {
    app = await startApp(fixture);
    const missing = await post({});
    expectErrorBody(missing, 401, 'unauthorized');
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(missing.body.error.message).toContain('npm run token -- create');
    expectErrorBody(await post({ authorization: 'Bearer rbm_not-a-real-token' }), 401, 'invalid_token');
    expectErrorBody(await post({ authorization: `Basic ${fixture.token}` }), 401, 'invalid_token');
    expectErrorBody(await post({ authorization: `Bearer ${fixture.token}x` }), 401, 'invalid_token');
    expect(fixture.catalog.getUserRatings(4).find((r) => r.itemId === 5)?.value).not.toBe(2);

    const other = fixture.tokens.create('second client');
    expect((await post({ authorization: `Bearer ${other.token}` })).status).toBe(201);
    expect((await post(fixture.auth)).status).toBe(201);
    fixture.tokens.revoke(other.id);
    expectErrorBody(await post({ authorization: `Bearer ${other.token}` }), 401, 'invalid_token');
    expect((await post(fixture.auth)).status).toBe(201);

    expect((await request(`${app.url}/api/users/4/ratings`)).status).toBe(200);
    expect(
      (
        await request(`${app.url}/api/recommendations`, {
          method: 'POST',
          json: { ratings: [{ itemId: 1, rating: 5 }] },
        })
      ).status,
    ).toBe(200);
  });

  it('stores only a hash of each token', () => {
    const rows = fixture.db.prepare('SELECT * FROM api_tokens').all();
    expect(JSON.stringify(rows)).not.toContain(fixture.token.slice(4));
    const raw = fixture.db.prepare('SELECT token_hash FROM api_tokens').pluck().all() as Buffer[];
    expect(raw.every((hash) => hash.length === 32)).toBe(true);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-client limit, on writes and on the visitor fold-in', async () => {
    app = await startApp(fixture, {
      limits: { writesPerMinute: 2, visitorPerMinute: 3 },
    });
    const write = () =>
      request(`${app!.url}/api/users/1/ratings`, {
        method: 'POST',
        headers: fixture.auth,
        json: { itemId: 1, rating: 3 },
      });
    expect((await write()).status).toBe(201);
    expect((await write()).status).toBe(201);
    const limited = await write();
    expectErrorBody(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Unauthenticated attempts count too, so tokens cannot be guessed at full speed.
    expectErrorBody(
      await request(`${app.url}/api/users/1/ratings`, {
        method: 'POST',
        json: { itemId: 1, rating: 3 },
      }),
      429,
      'rate_limited',
    );

    const visitor = () =>
      request(`${app!.url}/api/recommendations`, {
        method: 'POST',
        json: { ratings: [{ itemId: 1, rating: 4 }] },
      });
    for (let n = 0; n < 3; n++) expect((await visitor()).status).toBe(200);
    const visitorLimited = await visitor();
    expectErrorBody(visitorLimited, 429, 'rate_limited');
    expect(visitorLimited.headers.get('retry-after')).not.toBeNull();
    // Reads are not limited…
    expect((await request(`${app.url}/api/health`)).status).toBe(200);
    // …but for those that compute (the model explained, its hidden units): a limit of their own, the visitors'.
    for (let n = 0; n < 3; n++) expect((await request(`${app.url}/api/model/explain`)).status).toBe(200);
    const explainLimited = await request(`${app.url}/api/model/explain?user=2`);
    expectErrorBody(explainLimited, 429, 'rate_limited');
    expect(explainLimited.body.error.message).toContain('model explanation');
    expectErrorBody(await request(`${app.url}/api/model/hidden`), 429, 'rate_limited');
    expect((await request(`${app.url}/api/users/1/recommendations?limit=3`)).status).toBe(200);
  });
});

/** A raw request with a chosen Host header (fetch does not let a caller set Host). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Host allow-list', () => {
  it('answers loopback names and refuses any other Host with 421 and the error body', async () => {
    app = await startApp(fixture, { allowedHosts: undefined });
    const port = new URL(app.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST.']) {
      expect((await getWithHost(`${app.url}/api/health`, host)).status).toBe(200);
    }
    const rebound = await getWithHost(`${app.url}/api/health`, `attacker.example:${port}`);
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body)).toMatchObject({
      error: {
        code: 'misdirected_request',
        message: expect.stringContaining('attacker.example'),
      },
    });
  });

  it('answers names added with allowedHosts', async () => {
    app = await startApp(fixture, {
      allowedHosts: ['localhost', 'recommender.lan'],
    });
    expect((await getWithHost(`${app.url}/api/health`, 'recommender.lan:80')).status).toBe(200);
    expect((await getWithHost(`${app.url}/api/health`, 'other.lan')).status).toBe(421);
  });
});

describe('strict rating values', () => {
  const rate = (rating: unknown) =>
    request(`${app!.url}/api/users/2/ratings`, {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: 3, rating },
    });

  it('takes JSON numbers only, snapped to a level within 1e-9, and refuses strings and near misses', async () => {
    app = await startApp(fixture);
    for (const bad of ['0x4', ' 4e0 ', '4', '', true, null, [4], 4.001, 4 + 2e-9]) {
      const res = await rate(bad);
      expectErrorBody(res, 400, 'invalid_request');
      expect(res.body.error.message).toContain('must be a JSON number equal to one of the rating levels [1, 2, 3, 4, 5]');
    }
    const visitor = await request(`${app.url}/api/recommendations`, {
      method: 'POST',
      json: { ratings: [{ itemId: 1, rating: '5' }] },
    });
    expectErrorBody(visitor, 400, 'invalid_request');

    const snapped = await rate(4.0000000001);
    expect(snapped.status).toBe(201);
    expect(snapped.body.rating).toBe(4);
    expect(fixture.catalog.getUserRatings(2).find((r) => r.itemId === 3)?.value).toBe(4);
    expect(fixture.db.prepare('SELECT DISTINCT value FROM ratings ORDER BY value').pluck().all()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('visitor requests', () => {
  it(`refuses more than ${MAX_VISITOR_RATINGS} ratings with 413 and a clear message`, async () => {
    app = await startApp(fixture);
    const ratings = Array.from({ length: MAX_VISITOR_RATINGS + 1 }, (_, n) => ({
      itemId: n + 1,
      rating: 3,
    }));
    const res = await request(`${app.url}/api/recommendations`, {
      method: 'POST',
      json: { ratings },
    });
    expectErrorBody(res, 413, 'too_many_ratings');
    expect(res.body.error.message).toContain(`at most ${MAX_VISITOR_RATINGS} entries per request, got ${MAX_VISITOR_RATINGS + 1}`);
  });
});

describe('source maps', () => {
  it('are not served unless dev', async () => {
    const staticDir = path.join(fixture.dir, 'web');
    mkdirSync(staticDir);
    writeFileSync(path.join(staticDir, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
    writeFileSync(path.join(staticDir, 'app.js.map'), '{"version":3,"sources":["main.ts"]}');
    app = await startApp(fixture, { staticDir });
    expect((await request(`${app.url}/app.js`)).status).toBe(200);
    expectErrorBody(await request(`${app.url}/app.js.map`), 404, 'not_found');
    await app.close();
    app = await startApp(fixture, { staticDir, dev: true });
    expect((await request(`${app.url}/app.js.map`)).status).toBe(200);
  });
});
