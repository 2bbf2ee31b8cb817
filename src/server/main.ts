/**
 * Starts the server over a SQLite file or a PostgreSQL database: the wiring behind `npm start`
 * (scripts/start.ts), the load test and the end-to-end tests.
 *
 * Over SQLite the catalog is a CatalogCache over the local file (read on a miss, PRAGMA data_version for
 * what other processes changed). Over PostgreSQL (a replica among several, on other machines) it is a
 * CatalogMirror holding the whole catalog in memory, refreshed through LISTEN/NOTIFY; model versions are
 * fetched ahead (ModelMirror), tokens are checked against the database and the rate limits count in it.
 * Either way requests read memory, and the one serving path is the same.
 *
 * Order matters: an empty database is seeded with the demo catalog, a database with data but no model
 * gets one trained and saved first (so the server never starts without something to serve), then the
 * current version is loaded and polled for replacements, and only then does the port open.
 *
 * A current version that does not load (damaged tensors, inconsistent meta) is skipped, with the reason,
 * for the newest older version trained on the same catalog generation that does; when none loads, a new
 * model is trained. A catalog that cannot be trained on (no ratings, a broken scale) stops the start with
 * what to import.
 *
 * Start-up may wait for the database like any command line tool; once listening, the connection's busy
 * timeout drops to SERVER_BUSY_TIMEOUT_MS (0): SQLite never waits on the event loop; a write retries
 * between timers, then answers 503 (ServingService.rateWhenFree).
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { assertTrainable } from '../data/scaleCheck.js';
import { DEFAULT_ALGORITHM, modelFromState, trainModel, type ModelMeta, type FitOptions } from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { CatalogCache } from '../serving/catalogCache.js';
import { ModelHolder, type ModelSnapshot } from '../serving/modelHolder.js';
import { warmUp } from '../serving/service.js';
import { TopLists, type TopListsOptions } from '../serving/topLists.js';
import { VisitorPool, type VisitorPoolOptions } from '../serving/visitorPool.js';
import { CatalogMirror } from '../serving/catalogMirror.js';
import { ModelMirror } from '../serving/modelMirror.js';
import type { Catalog, ModelVersionSource } from '../serving/ports.js';
import {
  openDatabase,
  openPostgresStore,
  parseStoreTarget,
  SERVER_BUSY_TIMEOUT_MS,
  SqliteStore,
  type PostgresStore,
  type RateLimitCounter,
  type Store,
} from '../store/index.js';
import { generateDemoCatalog } from '../data/demo.js';
import type { TokenVerifier } from './guards.js';
import { createApp, webPageBuilt, type RateLimits } from './app.js';
import { defaultAllowedHosts } from './guards.js';
import { traceLatency } from './latencyTrace.js';

export interface LaunchOptions {
  dbPath: string;
  /** 0 picks a free port. */
  port: number;
  /** Interface to listen on (default 127.0.0.1; '0.0.0.0' to accept connections from other hosts). */
  host?: string;
  /** Progress and events, one line each (default stderr). */
  log?: (line: string) => void;
  /** For the model trained when the database has none. */
  trainOptions?: FitOptions;
  /** How often to look for a newer model version, in milliseconds (default 2000). */
  pollMs?: number;
  /** Folder of the web page (default web/dist). */
  staticDir?: string | null;
  /** Host header names accepted besides the defaults (loopback names and the listen address). */
  allowedHosts?: readonly string[];
  /** Per-client rate limits (requests a minute; 0 disables). */
  limits?: Partial<RateLimits>;
  /** Development: serve source maps. */
  dev?: boolean;
  /** Longest delay before a rating written by another process is reflected, in milliseconds (default 200). */
  changeCheckMs?: number;
  /** Precomputed top-N lists (size 0 turns precomputing off). */
  topLists?: TopListsOptions;
  /**
   * Worker threads for visitors' costly fold-ins (size 0: every visitor answered on the event loop).
   * Default: one per core but one, a queue of 32, requests of 50 ratings or more.
   */
  visitorPool?: Omit<VisitorPoolOptions, 'log'>;
  /** How long a rating write waits for another writer's lock, asynchronously, before its 503 (default 50 ms). */
  writeLockWaitMs?: number;
  /** Log where latency goes, once a second (latencyTrace.ts): a diagnostic, off by default. */
  traceLatency?: boolean;
}

export interface LaunchedServer {
  url: string;
  port: number;
  /** Stops accepting connections, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

/**
 * The current version failed to load (the holder logged why): serve the newest other version trained on
 * the same catalog generation that loads, saying which was skipped. Versions of another generation index
 * another catalog's items, so they are never candidates.
 */
async function serveFallbackVersion(
  models: Store<ModelMeta>['models'],
  holder: ModelHolder,
  prepare: (id: number) => Promise<void>,
  log: (line: string) => void,
): Promise<void> {
  const versions = await models.list();
  const current = versions.find((v) => v.isCurrent);
  if (!current) return;
  const candidates = versions.filter((v) => !v.isCurrent && v.catalogGeneration === current.catalogGeneration).sort((a, b) => b.id - a.id);
  for (const candidate of candidates) {
    try {
      await prepare(candidate.id);
    } catch (error) {
      log(`model version ${candidate.id} could not be read: ${(error as Error).message}`);
      continue;
    }
    if (holder.serveVersion(candidate.id)) {
      log(
        `the current model version ${current.id} could not be loaded (reason above): serving version ${candidate.id}, the newest that loads; train a new model to replace it`,
      );
      return;
    }
  }
}

/** Stored users whose recommendations are asked of the app over HTTP before it listens (warmUpHttp). */
const HTTP_WARM_UP_USERS = 20;

/**
 * Sends a few requests through the app itself, on a loopback port of this process alone, before the real
 * port opens: the first request of a process otherwise paid for the first run of the HTTP and Express
 * path (parsing, middleware, routing, serialising; measured in the hundred milliseconds at MovieLens-25M's
 * size), which serving's warmUp does not go through. A failure is logged, not fatal: it only warms.
 */
async function warmUpHttp(app: ReturnType<typeof createApp>, paths: readonly string[], log: (line: string) => void): Promise<void> {
  const probe = http.createServer(app);
  try {
    // exclusive: a cluster worker binds this port itself instead of sharing the primary's.
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port: 0, host: '127.0.0.1', exclusive: true }, resolve);
    });
    const { port } = probe.address() as AddressInfo;
    for (const path of paths) await (await fetch(`http://127.0.0.1:${port}${path}`)).arrayBuffer();
  } catch (err) {
    log(`warming up the HTTP path failed (serving goes on): ${(err as Error).message}`);
  } finally {
    probe.closeAllConnections();
    await new Promise((resolve) => probe.close(resolve));
  }
}

/** How long `close()` waits for requests in flight before cutting the remaining connections. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Trains a model on the catalog as it is and saves it as the current version (start-up with no usable model). */
async function trainAndSaveModel(
  store: Store<ModelMeta>,
  options: Pick<LaunchOptions, 'dbPath' | 'trainOptions'>,
  backend: string,
  log: (line: string) => void,
  why: string,
): Promise<void> {
  const { dataset, generation } = await store.catalog.loadDatasetWithGeneration();
  assertTrainable(
    dataset,
    `import a MovieLens folder first (npm run import -- --data <folder> --db ${store.location}), or start on a new database to get the demo catalog`,
  );
  log(`${why}: training one on ${dataset.levels.length} ratings (${dataset.userIds.length} users × ${dataset.itemIds.length} items)`);
  const { model, state } = await trainModel(DEFAULT_ALGORITHM, dataset, options.trainOptions ?? {}, {
    backend,
    onEpoch: (r) => {
      const validation = r.validationRmse === null ? '' : `, validation RMSE ${r.validationRmse.toFixed(4)}`;
      log(`  ${r.phase} epoch ${r.epoch}: train RMSE ${r.trainRmse.toFixed(4)}${validation} (${r.seconds.toFixed(1)} s)`);
    },
  });
  model.dispose();
  state.meta.training = { ...state.meta.training, catalogGeneration: generation };
  const id = await store.models.saveVersion(state.meta, state.tensors, { catalogGeneration: generation });
  log(`saved model version ${id}`);
}

/** Seeds an empty store with the demo catalog (so the app works offline, at once); returns whether it did. */
async function seedIfEmpty(store: Store<ModelMeta>, log: (line: string) => void): Promise<void> {
  if (!(await store.catalog.isEmpty())) return;
  await store.catalog.importCatalog(generateDemoCatalog());
  log('the database was empty: seeded the demo catalog');
}

/** Opens what `dbPath` names (a SQLite file, or a PostgreSQL URL with a server's short timeouts). */
async function openServerStore(dbPath: string, log: (line: string) => void): Promise<SqliteStore<ModelMeta> | PostgresStore<ModelMeta>> {
  const target = parseStoreTarget(dbPath);
  if (target.engine === 'postgres') {
    // A request never waits long on a database that is down or stuck: it is answered 503 in seconds.
    return openPostgresStore<ModelMeta>(target.url, { connectTimeoutMs: 2000, statementTimeoutMs: 5000, max: 10, log });
  }
  if (target.path !== ':memory:') mkdirSync(path.dirname(path.resolve(target.path)), { recursive: true });
  return new SqliteStore<ModelMeta>(openDatabase(target.path), target.path);
}

/**
 * What `launch` does before loading a model, alone: seeds an empty database and trains a first model when
 * there is none. The cluster's primary runs it once, so that N workers starting together do not all seed
 * or train.
 */
export async function prepareDatabase(options: Pick<LaunchOptions, 'dbPath' | 'log' | 'trainOptions'>): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const store = await openServerStore(options.dbPath, log);
  try {
    await seedIfEmpty(store, log);
    if ((await store.models.currentId()) === null) await trainAndSaveModel(store, options, await initBackend(), log, 'no model yet');
  } finally {
    await store.close();
  }
}

/** What the app reads, per engine: see the head of the file. */
interface ServingSources {
  catalog: Catalog & {
    userIds(): number[];
    generation(): number;
    onUserChanged(listener: (userId: number) => void): void;
    onCatalogChanged(listener: () => void): void;
  };
  models: ModelVersionSource;
  /** Fetches a version ahead of `holder.serveVersion(id)` (PostgreSQL); nothing to do over SQLite. */
  prepare(id: number): Promise<void>;
  /** Fetches the current version if it changed (PostgreSQL); resolves at once over SQLite. */
  refreshModels(): Promise<void>;
  tokens: TokenVerifier;
  sharedRateLimits?: RateLimitCounter;
  /** Once the server listens: the engine's serving settings and change feed. */
  started(holder: ModelHolder): void;
  close(): void;
}

async function sourcesOf(
  store: SqliteStore<ModelMeta> | PostgresStore<ModelMeta>,
  options: LaunchOptions,
  log: (line: string) => void,
): Promise<ServingSources> {
  if (store instanceof SqliteStore) {
    const catalog = new CatalogCache(store.sync.catalog, store.sync.changes, { checkEveryMs: options.changeCheckMs });
    return {
      catalog,
      models: store.sync.models,
      prepare: async () => {},
      refreshModels: async () => {},
      tokens: store.sync.tokens,
      started: () => store.db.pragma(`busy_timeout = ${SERVER_BUSY_TIMEOUT_MS}`),
      close: () => {},
    };
  }
  const catalog = await CatalogMirror.load(store.catalog, { log });
  const models = new ModelMirror(store.models, log);
  await models.refresh();
  let watch: { stop(): void } | null = null;
  return {
    catalog,
    models,
    prepare: (id) => models.prefetch(id),
    refreshModels: async () => void (await models.refresh()),
    tokens: store.tokens,
    sharedRateLimits: store.rateLimits,
    started: (holder) => {
      // A new model version is fetched in the background, then the holder's poll swaps it in.
      const refreshModels = (): void =>
        void models.refresh().then((changed) => {
          if (changed) void holder.update();
        });
      const feed = store.watch((change) => {
        catalog.apply(change);
        if (change.kind === 'model' || change.kind === 'resync') refreshModels();
      });
      watch = feed;
      // The feed may have started after changes made while this replica loaded: look once it listens.
      void feed.ready.then(() => {
        void catalog.resync();
        refreshModels();
      });
      // A safety net beside the notifications (one indexed read).
      const timer = setInterval(refreshModels, options.pollMs ?? 2000);
      timer.unref();
      const stop = feed.stop;
      watch = { stop: () => (clearInterval(timer), stop()) };
    },
    close: () => watch?.stop(),
  };
}

export async function launch(options: LaunchOptions): Promise<LaunchedServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const host = options.host ?? '127.0.0.1';
  const backend = await initBackend();

  const store = await openServerStore(options.dbPath, log);
  let holder: ModelHolder | null = null;
  let visitorPool: VisitorPool | null = null;
  let sources: ServingSources | null = null;
  try {
    await seedIfEmpty(store, log);
    const trainFirstModel = (why: string): Promise<void> => trainAndSaveModel(store, options, backend, log, why);
    if ((await store.models.currentId()) === null) await trainFirstModel('no model yet');

    // Requests read the catalog and users' ratings from memory; writes from other processes are noticed
    // through the change feed (catalogCache.ts, catalogMirror.ts). The top lists drop what the catalog drops.
    sources = await sourcesOf(store, options, log);
    const { catalog, models } = sources;
    const topLists = new TopLists(options.topLists);
    catalog.onUserChanged((userId) => topLists.forgetUser(userId));
    catalog.onCatalogChanged(() => topLists.clear());
    // Started before the first version loads, so that every version reaches its workers (onLoad).
    if (options.visitorPool?.size !== 0) visitorPool = new VisitorPool({ ...options.visitorPool, log });
    const pool = visitorPool;
    // At start nothing is served yet: full speed. On a hot swap the old version is answering requests:
    // the precompute takes at most half of the time, so that they keep a core between them.
    const warm = async (next: ModelSnapshot, superseded: () => boolean = () => false, share = 0.5): Promise<void> => {
      const userIds = catalog.userIds();
      const warming = performance.now();
      // The pool's workers have built their copy (seconds of CPU, spent before the version serves) and warm
      // up beside the main thread.
      await pool?.ready(next.versionId);
      const warmed = await warmUp(next, catalog, userIds, pool ? { pool } : {});
      log(`model version ${next.versionId}: warmed up on ${warmed} users in ${((performance.now() - warming) / 1000).toFixed(1)} s`);
      const report = await topLists.precompute(next, catalog, userIds, { cancelled: superseded, share });
      if (!superseded()) {
        log(
          `model version ${next.versionId}: top ${report.size} precomputed for ${report.users} users` +
            (report.skippedUsers > 0 ? ` (${report.skippedUsers} more are scored on their first request: memory budget)` : '') +
            (report.outOfTimeUsers > 0 ? ` (${report.outOfTimeUsers} more are scored on their first request: time budget)` : ''),
        );
      }
    };
    holder = new ModelHolder({
      models,
      catalog,
      fromState: modelFromState,
      pollMs: options.pollMs,
      log,
      catalogGeneration: () => catalog.generation(),
      warm,
      onLoad: (snapshot, version) => pool?.load(snapshot, version),
      onRetire: (snapshot) => {
        topLists.drop(snapshot);
        pool?.retire(snapshot.versionId);
      },
    });
    holder.refresh();
    const serving = sources;
    if (!holder.snapshot) await serveFallbackVersion(store.models, holder, (id) => serving.prepare(id), log);
    if (!holder.snapshot) {
      await trainFirstModel('no stored model version could be loaded');
      await sources.refreshModels();
      holder.refresh();
    }
    if (!holder.snapshot) throw new Error(`no model version could be loaded from ${options.dbPath}`);
    // No cold storm: every user's list is ready before the port opens (and, on a hot swap, before the new
    // version takes traffic: ModelHolder.update).
    await warm(holder.snapshot, () => false, 1);
    const stale = holder.staleness();
    if (stale) log(`stale: ${stale}`);
    holder.start();
    sources.started(holder);

    const allowedHosts = [...defaultAllowedHosts(host), ...(options.allowedHosts ?? [])];
    if ((host === '0.0.0.0' || host === '::') && (options.allowedHosts ?? []).length === 0) {
      log(
        `listening on all interfaces, but only Host names ${allowedHosts.join(', ')} are answered: add this machine's names with --allowed-hosts`,
      );
    }
    const app = createApp({
      catalog,
      models: holder,
      tokens: sources.tokens,
      ...(sources.sharedRateLimits ? { sharedRateLimits: sources.sharedRateLimits } : {}),
      backend,
      staticDir: options.staticDir,
      log,
      allowedHosts,
      limits: options.limits,
      dev: options.dev,
      topLists,
      ...(pool ? { visitorPool: pool } : {}),
      ...(options.writeLockWaitMs === undefined ? {} : { writeLockWaitMs: options.writeLockWaitMs }),
    });
    if (options.staticDir === undefined && !webPageBuilt()) log('web/dist is missing: the API works, the page needs `npm run build:web`');
    const userIds = catalog.userIds();
    const sample = Array.from(
      { length: Math.min(HTTP_WARM_UP_USERS, userIds.length) },
      (_, n) => userIds[Math.floor((n * userIds.length) / Math.min(HTTP_WARM_UP_USERS, userIds.length))],
    );
    await warmUpHttp(
      app,
      sample.map((id) => `/api/users/${id}/recommendations?limit=10`),
      log,
    );
    const server = app.listen(options.port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const stopTrace = options.traceLatency ? traceLatency(server, log) : () => {};
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    const pollingHolder = holder;
    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => {
      closing ??= new Promise<void>((resolve, reject) => {
        pollingHolder.stop();
        stopTrace();
        // server.close stops accepting and resolves once every request in flight has been answered
        // (idle keep-alive connections are closed at once); a stuck client is cut after the grace period.
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        force.unref();
        server.close((err) => {
          clearTimeout(force);
          pollingHolder.close();
          serving.close();
          const stopped = Promise.all([store.close(), pool ? pool.close() : Promise.resolve()]);
          stopped.then(
            () => (err ? reject(err) : resolve()),
            (poolErr: unknown) => reject(err ?? poolErr),
          );
        });
      });
      return closing;
    };
    return { url, port, close };
  } catch (err) {
    holder?.stop();
    sources?.close();
    await store.close();
    await visitorPool?.close();
    throw err;
  }
}
