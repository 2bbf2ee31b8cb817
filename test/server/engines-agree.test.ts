/**
 * The same data, the same seed, either engine: MovieLens 100K imported (the import command: batched
 * INSERTs into SQLite, COPY into PostgreSQL), a small RBM trained with one seed, and each database served
 * by `launch` gives the same recommendations and predictions, number for number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/importCommand.js';
import { trainAndSave } from '../../src/cli/trainCommand.js';
import type { ModelMeta } from '../../src/model/index.js';
import { launch, type LaunchedServer } from '../../src/server/main.js';
import { openStore } from '../../src/store/index.js';
import { ML100K } from '../helpers/dataFiles.js';
import { newDatabase, STORE_ENGINES, useEngines } from '../helpers/storeEngines.js';
import { request } from './helpers.js';

useEngines();
const silent = { write: () => true };
const servers = new Map<string, LaunchedServer>();

beforeAll(async () => {
  for (const engine of STORE_ENGINES) {
    const db = await newDatabase(engine, 'ml100k');
    const report = await runImport({ dataFolder: ML100K, dbPath: db }, silent);
    expect(report).toMatchObject({ users: 943, items: 1682, ratings: 100_000 });
    const store = await openStore<ModelMeta>(db);
    try {
      await trainAndSave(store, { epochs: 2, hidden: 8, seed: 7 }, { algorithm: 'user' });
    } finally {
      await store.close();
    }
    servers.set(engine, await launch({ dbPath: db, port: 0, log: () => {}, pollMs: 0, visitorPool: { size: 0 } }));
  }
});

afterAll(async () => {
  for (const server of servers.values()) await server.close();
});

describe('ML-100K on SQLite and on PostgreSQL', () => {
  it('gives the same recommendations and predictions for the same seed', async () => {
    const [sqlite, postgres] = STORE_ENGINES.map((engine) => servers.get(engine)!.url);
    for (const userId of [1, 42, 500, 943]) {
      for (const path of [`/api/users/${userId}/recommendations?limit=10`, `/api/users/${userId}/predictions?items=1,50,100,181`]) {
        const [a, b] = await Promise.all([request(sqlite + path), request(postgres + path)]);
        expect(a.status).toBe(200);
        expect(b.body, `${path}`).toEqual(a.body);
      }
    }
    const [ha, hb] = await Promise.all([request(`${sqlite}/api/health`), request(`${postgres}/api/health`)]);
    expect(hb.body.data).toEqual(ha.body.data);
    expect(hb.body.model.kind).toBe(ha.body.model.kind);
  });
});
