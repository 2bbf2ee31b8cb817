/**
 * Shared fixtures for the server and scorer tests: a small generated catalog in a real SQLite file in a
 * temp folder, a bias model (fast, deterministic) saved as a model version, and an app listening on an
 * ephemeral port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { fitBiasModel } from '../../src/model/bias.js';
import { modelFromState, type ModelMeta, type ModelState, type TrainedModel } from '../../src/model/index.js';
import { Rng } from '../../src/rng.js';
import { createApp } from '../../src/server/app.js';
import { ModelHolder } from '../../src/serving/modelHolder.js';
import type { RateLimits } from '../../src/server/app.js';
import { CatalogStore, ModelStore, openDatabase, TokenStore, type CatalogImport, type Database } from '../../src/store/index.js';

export const GENRES = ['Action', 'Comedy', 'Drama', 'Sci-Fi'];
export const USERS = 12;
export const ITEMS = 30;
/** A user with a stored row but no ratings (imported demographics only). */
export const SILENT_USER = 99;
export const SOURCE = 'test:server-fixture';

/** 12 users × 30 items, about half rated, 1–5 stars; item 7 is "Misérables, Les (1995)". */
export function fixtureCatalog(seed = 7): CatalogImport {
  const rng = new Rng(seed);
  const items = Array.from({ length: ITEMS }, (_, n) => {
    const itemId = n + 1;
    const title = itemId === 7 ? 'Misérables, Les (1995)' : `Film Number ${itemId} (${1980 + n})`;
    return { itemId, title, year: itemId === 7 ? 1995 : 1980 + n, genres: [GENRES[n % 4], ...(n % 5 === 0 ? [GENRES[(n + 1) % 4]] : [])] };
  });
  const ratings = [];
  for (let userId = 1; userId <= USERS; userId++) {
    for (let itemId = 1; itemId <= ITEMS; itemId++) {
      if (rng.next() < 0.5) continue;
      // Items with low ids are liked more, so the bias model has a clear order.
      const value = Math.min(5, Math.max(1, Math.round(5 - itemId / 8 + rng.normal() * 0.7)));
      ratings.push({ userId, itemId, value, timestamp: 1_000_000 + userId * 100 + itemId });
    }
  }
  return {
    source: SOURCE,
    layout: 'demo',
    items,
    users: [{ userId: SILENT_USER, age: null, gender: null, occupation: null, zipCode: null }],
    ratings,
    ratingLevels: [1, 2, 3, 4, 5],
  };
}

export interface Fixture {
  dir: string;
  dbPath: string;
  db: Database;
  catalog: CatalogStore;
  models: ModelStore<ModelMeta>;
  tokens: TokenStore;
  /** A valid API token, created with the fixture. */
  token: string;
  /** `{ Authorization: 'Bearer <token>' }` for write requests. */
  auth: Record<string, string>;
  /** Fits a bias model on the catalog as it is now and saves it as the current version. */
  trainAndSave(options?: { regUser?: number; regItem?: number }): number;
  cleanup(): void;
}

export function createFixture(): Fixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rbm-server-test-'));
  const dbPath = path.join(dir, 'test.db');
  const db = openDatabase(dbPath);
  const catalog = new CatalogStore(db);
  catalog.importCatalog(fixtureCatalog());
  const models = new ModelStore<ModelMeta>(db);
  const tokens = new TokenStore(db);
  const { token } = tokens.create('test fixture');
  return {
    dir,
    dbPath,
    db,
    catalog,
    models,
    tokens,
    token,
    auth: { authorization: `Bearer ${token}` },
    trainAndSave(options = {}) {
      const state = fitBiasModel(catalog.loadDataset(), options).toState();
      state.meta.training = {
        validation: { bias: 0.9 },
        curve: [{ phase: 'bias', epoch: 1, cdSteps: 0, trainRmse: 1, validationRmse: 0.9, seconds: 0 }],
        backend: 'cpu',
      };
      return models.saveVersion(state.meta, state.tensors);
    },
    cleanup() {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningApp {
  url: string;
  holder: ModelHolder;
  logs: string[];
  close(): Promise<void>;
}

/** The real app over the fixture's database, listening on 127.0.0.1 and an ephemeral port. */
export async function startApp(
  fixture: Fixture,
  options: {
    pollMs?: number;
    staticDir?: string | null;
    limits?: Partial<RateLimits>;
    dev?: boolean;
    allowedHosts?: readonly string[] | null;
    fromState?: (state: ModelState) => TrainedModel;
  } = {},
): Promise<RunningApp> {
  const logs: string[] = [];
  const log = (line: string): void => void logs.push(line);
  const holder = new ModelHolder({
    models: fixture.models,
    catalog: fixture.catalog,
    fromState: options.fromState ?? modelFromState,
    pollMs: options.pollMs ?? 0,
    log,
    catalogGeneration: () => fixture.catalog.generation(),
  });
  holder.refresh();
  holder.start();
  const app = createApp({
    catalog: fixture.catalog,
    models: holder,
    tokens: fixture.tokens,
    backend: 'cpu',
    staticDir: options.staticDir ?? null,
    log,
    // Tests post far more than a client would in a minute; limits are tested where asked for.
    limits: options.limits ?? { writesPerMinute: 0, visitorPerMinute: 0 },
    dev: options.dev,
    allowedHosts: options.allowedHosts,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    holder,
    logs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        holder.stop();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A fixture with a trained, saved model and the app over it; set by the hooks of serveTrainedFixture. */
export class ServedFixture {
  fixture!: Fixture;
  app!: RunningApp;
}

/**
 * Registers beforeAll/afterAll hooks in the calling file or describe block: the fixture, its model trained
 * and saved, the app started over it; afterwards the app closed and the fixture removed. Read the fields
 * inside tests only (they are set once the hooks have run).
 */
export function serveTrainedFixture(): ServedFixture {
  const served = new ServedFixture();
  beforeAll(async () => {
    served.fixture = createFixture();
    served.fixture.trainAndSave();
    served.app = await startApp(served.fixture);
  });
  afterAll(async () => {
    await served.app?.close();
    served.fixture?.cleanup();
  });
  return served;
}

// Response bodies are read field by field in assertions; typing each endpoint's JSON in the tests would
// only restate what the assertions check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch + JSON body (or text when the response is not JSON). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function request<T = any>(url: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonResponse<T>> {
  const { json, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    ...(json !== undefined ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...(rest.headers ?? {}) } } : {}),
  });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('application/json');
  return { status: response.status, headers: response.headers, body: (isJson ? JSON.parse(text) : text) as T };
}

/** Polls `check` until it returns true (no timing assertion: the test's own timeout is the limit). */
export async function eventually(check: () => Promise<boolean>, intervalMs = 25): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, intervalMs));
}
