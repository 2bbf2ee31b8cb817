/**
 * Every spelling of a path meets the same limits: each route, written with trailing or duplicate slashes,
 * in another case, with percent-encoded letters or dot segments, or in the absolute form a proxy sends,
 * is either the same route (same answer, and counted by the same rate limiter) or no route at all (404).
 * Source maps stay private without --dev whatever the spelling.
 *
 * Requests go out through node:http with the path exactly as written (fetch would normalise dot segments).
 */
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalPath } from '../../src/server/canonicalPath.js';
import { createFixture, startApp, type Fixture, type RunningApp } from './helpers.js';

interface Answer {
  status: number;
  code: string | null;
  message: string | null;
}

/** A raw request: `target` goes on the request line as it is. */
function send(base: string, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const framing = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ hostname, port, method, path: target, headers: { ...headers, ...framing }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let code: string | null = null;
        let message: string | null = null;
        if ((res.statusCode ?? 0) >= 400 && text !== '') {
          const parsed = JSON.parse(text) as { error: { code: string; message: string } };
          ({ code, message } = parsed.error);
        }
        resolve({ status: res.statusCode ?? 0, code, message });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

type Limiter = 'visitor' | 'costly read' | 'write' | null;
interface Route {
  method: string;
  path: string;
  query?: string;
  body?: string;
  auth?: boolean;
  limiter: Limiter;
}

const ROUTES: Route[] = [
  { method: 'GET', path: '/api/health', limiter: null },
  { method: 'GET', path: '/api/genres', limiter: null },
  { method: 'GET', path: '/api/items', query: '?search=film', limiter: null },
  { method: 'GET', path: '/api/items/7', limiter: null },
  { method: 'GET', path: '/api/model', limiter: null },
  { method: 'GET', path: '/api/users/1/recommendations', query: '?limit=3', limiter: null },
  { method: 'GET', path: '/api/users/1/predictions', query: '?items=1,2', limiter: null },
  { method: 'GET', path: '/api/users/1/ratings', limiter: null },
  { method: 'GET', path: '/api/model/explain', limiter: 'costly read' },
  { method: 'GET', path: '/api/model/hidden', limiter: 'costly read' },
  { method: 'GET', path: '/api/model/hidden/activations', query: '?user=1', limiter: 'costly read' },
  { method: 'POST', path: '/api/recommendations', body: '{"ratings":[{"itemId":1,"rating":5}]}', limiter: 'visitor' },
  { method: 'POST', path: '/api/model/hidden/activations', body: '{"ratings":[{"itemId":1,"rating":5}]}', limiter: 'visitor' },
  { method: 'POST', path: '/api/users/1/ratings', body: '{"itemId":2,"rating":4}', auth: true, limiter: 'write' },
];

const encodeLetter = (c: string): string => `%${c.charCodeAt(0).toString(16)}`;

/** Other spellings of `route`: `same` ones must be the route itself, the others no route at all. */
function spellings(route: string): { target: string; same: boolean }[] {
  const segments = route.split('/').slice(1);
  const last = segments.length - 1;
  const out: { target: string; same: boolean }[] = [
    { target: `${route}/`, same: true },
    { target: `${route}//`, same: true },
    { target: `${route}/./`, same: true },
    { target: `/${segments.join('//')}`, same: true },
    { target: `//${segments.join('/')}`, same: true },
    { target: route.toUpperCase(), same: true },
    { target: `/${segments.map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join('/')}`, same: true },
    { target: `/${segments.slice(0, last).join('/')}/./${segments[last]}`, same: true },
    { target: `/${segments.slice(0, last).join('/')}/zzz/../${segments[last]}`, same: true },
    { target: `/${segments.slice(0, last).join('/')}/%2e/${segments[last]}`, same: true },
    { target: `/${segments.slice(0, last).join('/')}/zzz/%2E%2e/${segments[last]}`, same: true },
    { target: `/${segments.slice(0, last).join('/')}/${segments[last].replace(/[a-z]/, encodeLetter)}`, same: true },
    {
      target: `/${segments.slice(0, last).join('/')}/${segments[last].replace(/[a-z]$/, (c) => encodeLetter(c).toUpperCase())}`,
      same: true,
    },
    { target: `/${segments.map((s) => [...s].map((c) => (/[a-z]/.test(c) ? encodeLetter(c) : c)).join('')).join('/')}`, same: true },
    { target: `/%61pi/${segments.slice(1).join('/')}`, same: true },
    { target: `/API//${segments.slice(1).join('//').toUpperCase()}//`, same: true },
    // An encoded slash stays inside its segment: not this route.
    { target: `/${segments.slice(0, last).join('/')}%2F${segments[last]}`, same: false },
    { target: `/${segments.slice(0, last).join('/')}%2f${segments[last]}`, same: false },
  ];
  return out;
}

let fixture: Fixture;
let open: RunningApp;
let limited: RunningApp;

beforeAll(async () => {
  fixture = createFixture();
  fixture.trainAndSave();
  open = await startApp(fixture);
  limited = await startApp(fixture, { limits: { writesPerMinute: 1, visitorPerMinute: 1 } });
});

afterAll(async () => {
  await open?.close();
  await limited?.close();
  fixture?.cleanup();
});

const call = (app: RunningApp, route: Route, target: string, query = route.query ?? ''): Promise<Answer> =>
  send(app.url, route.method, `${target}${query}`, route.auth ? fixture.auth : {}, route.body);

describe('canonicalPath', () => {
  it('decodes unreserved escapes only, removes dot segments and duplicate or trailing slashes, lower-cases /api', () => {
    expect(canonicalPath('/api/Recommendations//')).toBe('/api/recommendations');
    expect(canonicalPath('/%61pi/%72ecommendations')).toBe('/api/recommendations');
    expect(canonicalPath('/api/users/1%2f2/ratings')).toBe('/api/users/1%2F2/ratings');
    expect(canonicalPath('/a/b/../../../c/./d/')).toBe('/c/d');
    expect(canonicalPath('/app.js%2emap')).toBe('/app.js.map');
    expect(canonicalPath('/Web/App.JS')).toBe('/Web/App.JS');
    expect(canonicalPath('//')).toBe('/');
    expect(canonicalPath('/apikey')).toBe('/apikey');
  });
});

describe('every spelling of every route', () => {
  it('is the route itself or no route, and a limited route counts every spelling against its limit', async () => {
    // Use up each limiter (1 a minute) with one canonical request of its kind.
    const used = new Set<Limiter>();
    for (const route of ROUTES) {
      if (route.limiter === null || used.has(route.limiter)) continue;
      used.add(route.limiter);
      expect((await call(limited, route, route.path)).status, `${route.method} ${route.path}`).toBeLessThan(500);
    }
    expect(used.size).toBe(3);

    let checked = 0;
    for (const route of ROUTES) {
      const canonical = await call(open, route, route.path);
      expect(canonical.status, `${route.method} ${route.path}`).toBeLessThan(500);
      // A route (which may still answer 404 for what it was asked: the fixture's bias model has no hidden units).
      expect(canonical.message ?? '', `${route.method} ${route.path} is a route`).not.toMatch(/^no route/);
      const variants = [...spellings(route.path), { target: `${open.url}${route.path}//`, same: true }];
      for (const { target, same } of variants) {
        const where = `${route.method} ${target}`;
        const answer = await call(open, route, target);
        if (same) expect({ where, ...answer }).toEqual({ where, ...canonical });
        // No route: a 404, or, for a POST, the token every unknown write needs first (deny by default).
        else
          expect({
            where,
            refused: answer.status === 404 ? /^no (route|page or file)/.test(answer.message ?? '') : answer.status === 401,
          }).toEqual({ where, refused: true });
        if (route.limiter !== null) {
          const limitedAnswer = await call(limited, route, target);
          if (same) expect({ where, status: limitedAnswer.status }).toEqual({ where, status: 429 });
          else expect({ where, status: limitedAnswer.status }).toEqual({ where, status: expect.toBeOneOf([401, 404, 429]) });
        }
        checked++;
      }
    }
    expect(checked).toBe(ROUTES.length * 19);
    expect(open.logs.filter((l) => l.startsWith('internal error'))).toEqual([]);
  });
});

describe('source maps without --dev', () => {
  let staticApp: RunningApp | null = null;
  afterAll(async () => staticApp?.close());

  it('are refused under every spelling the static files would serve, and served with --dev', async () => {
    const staticDir = path.join(fixture.dir, 'web');
    mkdirSync(staticDir, { recursive: true });
    writeFileSync(path.join(staticDir, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
    writeFileSync(path.join(staticDir, 'app.js.map'), '{"version":3,"sources":["main.ts"]}');
    writeFileSync(path.join(staticDir, 'styles.css'), 'body{}\n/*# sourceMappingURL=styles.css.map */\n');
    writeFileSync(path.join(staticDir, 'styles.css.map'), '{"version":3,"sources":["styles.css"]}');
    mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
    writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>\n');
    staticApp = await startApp(fixture, { staticDir });
    const get = (target: string): Promise<Answer> => send(staticApp!.url, 'GET', target, {});
    expect((await get('/app.js')).status).toBe(200);
    expect((await get('//')).status).toBe(200); // the page
    // A folder is not redirected to its trailing-slash spelling (which the canonical path drops again).
    for (const target of ['/assets', '/assets/']) expect((await get(target)).status).toBe(404);
    expect((await get('/%61pp.js')).status).toBe(200);
    const spellingsOfMaps = [
      '/app.js.map',
      '/app.js%2emap',
      '/app.js%2Emap',
      '/app.js.ma%70',
      '/%61pp.js.map',
      '/styles.css%2emap',
      '/styles.css.%6d%61%70',
      '/app.js.map/',
      '//app.js.map',
      '/./app.js.map',
      '/x/../app.js.map',
      '/x/%2e%2e/app.js.map',
      '/app.js.MAP',
      '/app.js%252emap',
      '/app.js.map?v=1',
    ];
    for (const target of spellingsOfMaps) {
      const answer = await get(target);
      expect({ target, status: answer.status, code: answer.code }).toEqual({ target, status: 404, code: 'not_found' });
    }
    await staticApp.close();
    staticApp = await startApp(fixture, { staticDir, dev: true });
    expect((await get('/app.js%2emap')).status).toBe(200);
    expect((await get('/styles.css.map')).status).toBe(200);
  });
});
