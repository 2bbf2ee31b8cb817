/**
 * A bounded, seeded HTTP fuzz of every endpoint: property-based paths (every route, also spelled with
 * extra or trailing slashes, another case, percent-encoded characters and dot segments), query strings,
 * headers and bodies (some nested thousands of levels deep), a few thousand requests against the real app
 * over a real SQLite file. Whatever arrives, the server answers without a 5xx and without a stack, with
 * only the statuses and error codes documented in docs/operations.md ("Statuses"), and every error
 * carries `{"error":{"code","message"}}`. The seed is fixed, so a failure reproduces; fast-check prints
 * the shrunk request.
 */
import { readFileSync } from 'node:fs';
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
  target: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // Content-Length always: node:http sends a DELETE or OPTIONS body without framing otherwise.
    const framing = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    // The path as written (a URL string would have its dot segments resolved before it is sent).
    const { hostname, port } = new URL(app.url);
    const req = http.request({ hostname, port, path: target, method, headers: { ...headers, ...framing }, agent }, (res) => {
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

/** JSON text of `depth` nested arrays or objects around a number: the shape that once overflowed the stack. */
const deepValue = fc.tuple(fc.integer({ min: 1, max: 50_000 }), fc.boolean()).map(([depth, arrays]) =>
  // Up to the 100 kB body limit: 2 bytes a level for arrays, 6 for objects.
  arrays ? `${'['.repeat(depth)}4${']'.repeat(depth)}` : `${'{"a":'.repeat(depth / 3)}4${'}'.repeat(depth / 3)}`,
);
const deepBody = fc.oneof(
  deepValue.map((v) => `{"ratings":[{"itemId":1,"rating":${v}}]}`),
  deepValue.map((v) => `{"ratings":[{"itemId":${v},"rating":4}]}`),
  deepValue.map((v) => `{"itemId":${v},"rating":4}`),
  deepValue.map((v) => `{"limit":${v}}`),
  deepValue,
);

const path = fc.oneof(
  fc.constant('/api/health'),
  fc.constant('/api/genres'),
  fc.constant('/api/model'),
  fc.constant('/api/model/explain'),
  fc.constant('/api/model/hidden'),
  fc.constant('/api/model/hidden/activations'),
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

/** One way of spelling a path differently; applied at a position chosen by `at` (0 ≤ at < 1). */
const respell = fc.constantFrom(
  (p: string) => `${p}/`,
  (p: string) => `${p}//`,
  (p: string) => p.replace(/\//g, '//'),
  (p: string, at: number) => p.slice(0, Math.floor(at * p.length)) + p.slice(Math.floor(at * p.length)).toUpperCase(),
  (p: string, at: number) => {
    // Percent-encode one character (any: letters, digits, '/', '.'), in either hex case.
    const i = 1 + Math.floor(at * (p.length - 1)); // never the leading '/'
    const hex = p.charCodeAt(i).toString(16).padStart(2, '0');
    return `${p.slice(0, i)}%${at < 0.5 ? hex : hex.toUpperCase()}${p.slice(i + 1)}`;
  },
  (p: string, at: number) => {
    const cut = p.indexOf('/', 1 + Math.floor(at * (p.length - 1)));
    return cut < 0 ? `${p}/.` : `${p.slice(0, cut)}/./x/..${p.slice(cut)}`;
  },
  (p: string) => `${p}/%2e%2e/${p.split('/').pop() ?? ''}`,
);
const spelledPath = fc
  .tuple(path, fc.array(fc.tuple(respell, fc.double({ min: 0, max: 0.999, noNaN: true })), { maxLength: 3 }))
  .map(([p, changes]) => changes.reduce((spelled, [change, at]) => change(spelled, at), p));

/** The (status, code) pairs docs/operations.md documents; `—` for a success, which has no code. */
function documentedStatuses(): Set<string> {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const pairs = [...doc.matchAll(/^\| (\d{3}) \| `?([a-z_]+|—)`? \|/gm)].map((m) => `${m[1]} ${m[2]}`);
  return new Set(pairs);
}

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path: fc.oneof({ weight: 2, arbitrary: path }, { weight: 1, arbitrary: spelledPath }),
  query,
  body: fc.option(fc.oneof({ weight: 5, arbitrary: body }, { weight: 1, arbitrary: deepBody }), { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/json; charset=latin1', undefined),
  auth: fc.constantFrom('token', 'token', 'none', 'bogus'),
});

describe('HTTP fuzz', () => {
  it('answers every request with a documented status, never a 5xx or a stack, and every error with the error body', async () => {
    const documented = documentedStatuses();
    expect(documented.size).toBeGreaterThan(15); // the table was found
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.auth === 'token') Object.assign(headers, fixture.auth);
        if (r.auth === 'bogus') headers.authorization = 'Bearer rbm_bogus';
        const hasBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
        const response = await send(`${r.path}${r.query}`, r.method, headers, hasBody ? r.body : undefined);
        const text = response.text;
        requests++;
        const where = `${r.method} ${r.path}${r.query}`;
        expect(response.status, where).toBeLessThan(500);
        expect(text, where).not.toMatch(/\n\s+at |Error: /);
        let code = '—';
        if (response.status >= 400 && r.method !== 'HEAD') {
          const parsed = JSON.parse(text) as {
            error?: { code?: unknown; message?: unknown };
          };
          expect(typeof parsed.error?.code).toBe('string');
          expect(typeof parsed.error?.message).toBe('string');
          code = String(parsed.error?.code);
        }
        if (r.method !== 'HEAD' || response.status < 400) expect(documented, where).toContain(`${response.status} ${code}`);
      }),
      { seed: 20261203, numRuns: 3000 },
    );
    expect(requests).toBeGreaterThanOrEqual(3000);
    expect(app.logs.filter((l) => l.startsWith('internal error'))).toEqual([]);
  });
});
