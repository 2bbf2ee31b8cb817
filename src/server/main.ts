/**
 * Starts the server over a SQLite file: the wiring behind `npm start` (scripts/start.ts), the load test
 * and the end-to-end tests.
 *
 * Order matters: an empty database is seeded with the demo catalog, a database with data but no model
 * gets one trained and saved first (so the server never starts without something to serve), then the
 * current version is loaded and polled for replacements, and only then does the port open.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { seedDemoCatalogIfEmpty } from '../store/seed.js';
import { DEFAULT_ALGORITHM, modelFromState, trainModel, type ModelMeta, type TrainOptionsInput } from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { CatalogStore, ModelStore, openDatabase } from '../store/index.js';
import { createApp, webPageBuilt } from './app.js';
import { ModelHolder } from '../serving/modelHolder.js';

export interface LaunchOptions {
  dbPath: string;
  /** 0 picks a free port. */
  port: number;
  /** Interface to listen on (default 127.0.0.1; '0.0.0.0' to accept connections from other hosts). */
  host?: string;
  /** Progress and events, one line each (default stderr). */
  log?: (line: string) => void;
  /** For the model trained when the database has none. */
  trainOptions?: TrainOptionsInput;
  /** How often to look for a newer model version, in milliseconds (default 2000). */
  pollMs?: number;
  /** Folder of the web page (default web/dist). */
  staticDir?: string | null;
}

export interface LaunchedServer {
  url: string;
  port: number;
  /** Stops accepting connections, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

/** How long `close()` waits for requests in flight before cutting the remaining connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function launch(options: LaunchOptions): Promise<LaunchedServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const host = options.host ?? '127.0.0.1';
  const backend = await initBackend();

  if (options.dbPath !== ':memory:') mkdirSync(path.dirname(path.resolve(options.dbPath)), { recursive: true });
  const db = openDatabase(options.dbPath);
  let holder: ModelHolder | null = null;
  try {
    const catalog = new CatalogStore(db);
    if (seedDemoCatalogIfEmpty(catalog)) log('the database was empty: seeded the demo catalog');
    const models = new ModelStore<ModelMeta>(db);
    if (models.currentId() === null) {
      const dataset = catalog.loadDataset();
      log(`no model yet: training one on ${dataset.levels.length} ratings (${dataset.userIds.length} users × ${dataset.itemIds.length} items)`);
      const { model, state } = await trainModel(DEFAULT_ALGORITHM, dataset, options.trainOptions ?? {}, {
        backend,
        onEpoch: (r) => {
          const validation = r.validationRmse === null ? '' : `, validation RMSE ${r.validationRmse.toFixed(4)}`;
          log(`  ${r.phase} epoch ${r.epoch}: train RMSE ${r.trainRmse.toFixed(4)}${validation} (${r.seconds.toFixed(1)} s)`);
        },
      });
      model.dispose();
      const id = models.saveVersion(state.meta, state.tensors);
      log(`saved model version ${id}`);
    }

    holder = new ModelHolder({ models, catalog, fromState: modelFromState, pollMs: options.pollMs, log });
    holder.refresh();
    if (!holder.snapshot) throw new Error(`no model version could be loaded from ${options.dbPath}`);
    holder.start();

    const app = createApp({ catalog, models: holder, backend, staticDir: options.staticDir, log });
    if (options.staticDir === undefined && !webPageBuilt()) log('web/dist is missing: the API works, the page needs `npm run build:web`');
    const server = app.listen(options.port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    const pollingHolder = holder;
    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => {
      closing ??= new Promise<void>((resolve, reject) => {
        pollingHolder.stop();
        // server.close stops accepting and resolves once every request in flight has been answered
        // (idle keep-alive connections are closed at once); a stuck client is cut after the grace period.
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        force.unref();
        server.close((err) => {
          clearTimeout(force);
          pollingHolder.close();
          db.close();
          if (err) reject(err);
          else resolve();
        });
      });
      return closing;
    };
    return { url, port, close };
  } catch (err) {
    holder?.stop();
    db.close();
    throw err;
  }
}
