/**
 * A bounded, seeded HTTP fuzz of every endpoint: property-based paths, query strings, headers and bodies
 * (fast-check), a couple of thousand requests against the real app over a real SQLite file. Whatever
 * arrives, the server answers without a 5xx, and every 4xx carries `{"error":{"code","message"}}`.
 * The seed is fixed, so a failure reproduces; fast-check prints the shrunk request.
 */
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, startApp, type Fixture, type RunningApp } from './helpers.js';

let fixture: Fixture;
let app: RunningApp;
// One keep-alive connection pool for the whole run: a new TCP connection per request would dominate.
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** A raw request (node:http, lighter than fetch), resolving with the status and the body text. */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // Content-Length always: node:http sends a DELETE or OPTIONS body without framing otherwise.
    const framing = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request(url, { method, headers: { ...headers, ...framing }, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  fixture = createFixture();
  fixture.trainAndSave();
  app = await startApp(fixture);
});

afterAll(async () => {
  agent.destroy();
  await app?.close();
  fixture?.cleanup();
});

/** Something in the place of an id: real ids, edge numbers, and junk. */
const idLike = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map(String),
  fc.constantFrom('-1', '1e3', '0x10', '1.5', '999999999999999', '9999999999999999999', '', ' 1', '%00', '..', 'NaN'),
  fc.string({ maxLength: 12 }),
);

const queryValue = fc.oneof(
  fc.integer({ min: -5, max: 200 }).map(String),
  fc.constantFrom('Comedy', 'comedy', 'Polka', '', 'the', '%', '_', '1,2,3', '1,,2', 'a'.repeat(300)),
  fc.string({ maxLength: 20 }),
);

const query = fc
  .array(fc.tuple(fc.constantFrom('limit', 'offset', 'search', 'genre', 'items', 'x', 'limit[a]'), queryValue), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));

const ratingLike = fc.oneof(
  fc.integer({ min: 0, max: 6 }),
  fc.double({ noNaN: false }),
  fc.constantFrom('4', '0x4', ' 4e0 ', 4.0000000001, 4.01, null, true),
  fc.jsonValue({ maxDepth: 1 }),
);
const ratingEntry = fc.oneof(
  fc.record({
    itemId: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.jsonValue({ maxDepth: 1 })),
    rating: ratingLike,
  }),
  fc.jsonValue({ maxDepth: 2 }),
);
const body = fc.oneof(
  fc
    .record({
      itemId: fc.oneof(fc.integer({ min: 0, max: 40 }), idLike),
      rating: ratingLike,
    })
    .map((b) => JSON.stringify(b)),
  fc
    .record(
      {
        ratings: fc.oneof(fc.array(ratingEntry, { maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
        limit: fc.oneof(fc.integer({ min: -2, max: 120 }), fc.jsonValue({ maxDepth: 1 })),
        genre: fc.oneof(fc.constantFrom('Drama', 'drama', 'Polka'), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }), // mostly not JSON at all
);

const path = fc.oneof(
  fc.constant('/api/health'),
  fc.constant('/api/genres'),
  fc.constant('/api/model'),
  fc.constant('/api/items'),
  idLike.map((id) => `/api/items/${encodeURIComponent(id)}`),
  idLike.map((id) => `/api/users/${encodeURIComponent(id)}/recommendations`),
  idLike.map((id) => `/api/users/${encodeURIComponent(id)}/predictions`),
  idLike.map((id) => `/api/users/${encodeURIComponent(id)}/ratings`),
  fc.constant('/api/recommendations'),
  fc.constant('/'),
  fc.string({ maxLength: 15 }).map((s) => `/api/${encodeURIComponent(s)}`),
  fc.string({ maxLength: 15 }).map((s) => `/${encodeURIComponent(s)}`),
);

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  query,
  body: fc.option(body, { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/json; charset=latin1', undefined),
  auth: fc.constantFrom('token', 'token', 'none', 'bogus'),
});

describe('HTTP fuzz', () => {
  it('answers every request without a 5xx, and every 4xx with the error body', async () => {
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.auth === 'token') Object.assign(headers, fixture.auth);
        if (r.auth === 'bogus') headers.authorization = 'Bearer rbm_bogus';
        const hasBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
        const response = await send(`${app.url}${r.path}${r.query}`, r.method, headers, hasBody ? r.body : undefined);
        const text = response.text;
        requests++;
        expect(response.status, `${r.method} ${r.path}${r.query}`).toBeLessThan(500);
        if (response.status >= 400 && r.method !== 'HEAD') {
          const parsed = JSON.parse(text) as {
            error?: { code?: unknown; message?: unknown };
          };
          expect(typeof parsed.error?.code).toBe('string');
          expect(typeof parsed.error?.message).toBe('string');
        }
      }),
      { seed: 20261201, numRuns: 2000 },
    );
    expect(requests).toBeGreaterThanOrEqual(2000);
    expect(app.logs.filter((l) => l.startsWith('internal error'))).toEqual([]);
  });
});
