/**
 * The Express application: the Host allow-list, security headers, JSON body parsing, one router per
 * resource under /api, the web page's static files at /, and one JSON error middleware at the end. No
 * `listen` here, so tests and `launch()` mount the same app.
 *
 * Paths: first of all, the request path is rewritten to its one canonical spelling (canonicalPath.ts), and
 * routing is strict and case-sensitive, so the guards below and the routers see the same string.
 *
 * Writes: every /api request that is not a read (GET, HEAD, OPTIONS) needs an API token and is rate
 * limited per client, except the anonymous visitor's POSTs (recommendations, and the hidden units their
 * ratings switch on), which change nothing stored and share their own limit. Deny by default: a write
 * route added later is protected without anyone remembering to. Reads that compute (the model's
 * explanation and hidden units) have a limit of their own, as high as the visitors'.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { strictRouter } from './routing.js';
import { requireShallowJson } from './validation.js';
import helmet from 'helmet';
import type { AppDeps, AppOptions, RateLimits } from './deps.js';
import { ApiError, apiNotFound, errorHandler } from './errors.js';
import { canonicalizePath } from './canonicalPath.js';
import { defaultAllowedHosts, hostAllowList, noSourceMaps, perClientRateLimit, requireToken } from './guards.js';
import { DEFAULT_CACHE_BYTES, ScoreCache } from '../serving/scoreCache.js';
import { ServingService } from '../serving/service.js';

export type { AppDeps, AppOptions, RateLimits };
import { healthRouter } from './routes/health.js';
import { genresRouter, itemsRouter } from './routes/items.js';
import { modelRouter } from './routes/model.js';
import { recommendationsRouter } from './routes/recommendations.js';
import { usersRouter } from './routes/users.js';

/** The bundle written by `npm run build:web`. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

export const DEFAULT_RATE_LIMITS: RateLimits = { writesPerMinute: 60, visitorPerMinute: 120 };

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** POSTs that compute from the posted ratings and store nothing: a visitor needs no token for them. */
const VISITOR_POSTS = new Set(['/recommendations', '/model/hidden/activations']);
/** Reads that cost real CPU when not cached (tens of ms at MovieLens sizes): limited like the visitors. */
const COSTLY_READS = new Set(['/model/explain', '/model/hidden', '/model/hidden/activations']);

export function createApp(options: AppOptions): express.Application {
  const cache = new ScoreCache(options.predictionCacheBytes ?? DEFAULT_CACHE_BYTES);
  const deps: AppDeps = {
    ...options,
    serving: new ServingService(options.catalog, cache, options.topLists ?? null, options.visitorPool ?? null),
  };
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const app = express();
  // Exactly the canonical spelling (canonicalizePath) reaches a route; Router() instances say the same.
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.use(canonicalizePath);
  app.set('query parser', 'simple'); // `?a=1&a=2` → array (rejected by validation), no nested objects
  app.set('etag', false); // answers depend on ratings that change between requests; see Cache-Control
  const allowedHosts = options.allowedHosts === undefined ? defaultAllowedHosts('127.0.0.1') : options.allowedHosts;
  if (allowedHosts !== null) app.use(hostAllowList(allowedHosts));
  app.use(helmet());
  const limits = { ...DEFAULT_RATE_LIMITS, ...options.limits };
  const shared = options.sharedRateLimits;
  const writeLimit = perClientRateLimit('write', limits.writesPerMinute, shared);
  const visitorLimit = perClientRateLimit('visitor recommendation', limits.visitorPerMinute, shared);
  const costlyReadLimit = perClientRateLimit('model explanation', limits.visitorPerMinute, shared);
  const tokenCheck = requireToken(options.tokens);

  const api = strictRouter();
  api.use((_req, res, next) => {
    // Recommendations change with every posted rating and model swap: never serve them from a cache.
    res.set('Cache-Control', 'no-store');
    next();
  });
  // One decision per request, on the canonical path (the same string the routers match).
  api.use((req, res, next) => {
    if (READ_METHODS.has(req.method)) {
      if (req.method !== 'OPTIONS' && COSTLY_READS.has(req.path)) costlyReadLimit(req, res, next);
      else next();
      return;
    }
    if (req.method === 'POST' && VISITOR_POSTS.has(req.path)) {
      visitorLimit(req, res, next);
      return;
    }
    // The limit first, so that guessing tokens is limited too.
    writeLimit(req, res, (err?: unknown) => (err === undefined ? tokenCheck(req, res, next) : next(err)));
  });
  api.use(express.json({ limit: '100kb' }));
  api.use((req, _res, next) => {
    requireShallowJson(req.body);
    next();
  });
  api.use('/health', healthRouter(deps));
  api.use('/items', itemsRouter(deps));
  api.use('/genres', genresRouter(deps));
  api.use('/users', usersRouter(deps));
  api.use('/recommendations', recommendationsRouter(deps));
  api.use('/model', modelRouter(deps));
  api.use(apiNotFound);
  app.use('/api', api);

  const staticDir = options.staticDir === undefined ? DEFAULT_STATIC_DIR : options.staticDir;
  if (!options.dev) app.use(noSourceMaps);
  // No redirect of a folder to its trailing-slash spelling: the canonical path drops that slash again.
  if (staticDir !== null) app.use(express.static(staticDir, { redirect: false }));
  app.get('/', (_req, res) => {
    // Reached only when the bundle has no index.html (not built yet): the API still works, say so.
    const where =
      staticDir === null ? 'no page is configured' : `${path.relative(process.cwd(), staticDir) || staticDir} has no index.html`;
    res
      .status(200)
      .type('text/plain')
      .send(`The recommender API is running (try /api/health), but the web page is not built: ${where}. Run \`npm run build:web\`.\n`);
  });

  // Anything else: the same JSON error shape as the API (the page routes by #hash, never by path).
  app.use((req, _res, next) => next(new ApiError(404, 'not_found', `no page or file at ${req.method} ${req.path}`)));
  app.use(errorHandler(log));
  return app;
}

/** True when the web bundle exists (for a startup hint). */
export const webPageBuilt = (staticDir: string = DEFAULT_STATIC_DIR): boolean => existsSync(path.join(staticDir, 'index.html'));
