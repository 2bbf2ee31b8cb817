/** `npm run migrate-store`: a SQLite database moved into PostgreSQL whole, refused into a database that holds anything. */
import { describe, expect, it } from 'vitest';
import { parseMigrateStoreArgs, runMigrateStore } from '../../src/cli/migrateStoreCommand.js';
import { UsageError } from '../../src/cli/common.js';
import { fitBiasModel } from '../../src/model/bias.js';
import type { ModelMeta } from '../../src/model/index.js';
import { openStore } from '../../src/store/index.js';
import { newDatabase, useEngines } from '../helpers/storeEngines.js';
import { fixtureCatalog } from '../server/helpers.js';

useEngines();

describe('migrate-store', () => {
  it('parses --from <file> --to <postgres url> and refuses anything else', () => {
    expect(parseMigrateStoreArgs(['--from', 'a.db', '--to', 'postgres://u@h/d'])).toEqual({ from: 'a.db', to: 'postgres://u@h/d' });
    expect(() => parseMigrateStoreArgs(['--from', 'a.db'])).toThrow(UsageError);
    expect(() => parseMigrateStoreArgs(['--from', 'a.db', '--to', 'b.db'])).toThrow('--to must be a postgres:// or postgresql:// URL');
    expect(() => parseMigrateStoreArgs(['--from', 'postgres://h/d', '--to', 'postgres://h/e'])).toThrow('--from must be a SQLite file');
    expect(() => parseMigrateStoreArgs(['--from', 'a.db', '--to', 'mysql://h/d'])).toThrow('is a mysql: URL');
  });

  it('copies the catalog, API ratings, generation, model versions and tokens; the copy answers as the original', async () => {
    const from = await newDatabase('sqlite', 'single-machine');
    const to = await newDatabase('postgres', 'migrated');
    const sqlite = await openStore<ModelMeta>(from);
    await sqlite.catalog.importCatalog(fixtureCatalog());
    await sqlite.catalog.upsertRating(4242, 3, 5, 1_700_000_000);
    const state = fitBiasModel(await sqlite.catalog.loadDataset(), {}).toState();
    const first = await sqlite.models.saveVersion(state.meta, state.tensors);
    const second = await sqlite.models.saveVersion(state.meta, state.tensors);
    const { token } = await sqlite.tokens.create('kept');
    await sqlite.close();

    const report = await runMigrateStore({ from, to });
    expect(report).toContain('current model version 2');

    const [a, b] = [await openStore<ModelMeta>(from), await openStore<ModelMeta>(to)];
    try {
      expect(await b.catalog.loadDatasetWithGeneration()).toEqual(await a.catalog.loadDatasetWithGeneration());
      expect(await b.catalog.getUser(4242)).toEqual(await a.catalog.getUser(4242));
      expect(await b.catalog.getUserRatings(4242)).toEqual([{ itemId: 3, value: 5, timestamp: 1_700_000_000 }]);
      expect(await b.catalog.datasetInfo()).toEqual(await a.catalog.datasetInfo());
      expect(await b.catalog.searchItems('miserables', 5, 0)).toEqual(await a.catalog.searchItems('miserables', 5, 0));
      expect(await b.models.list()).toEqual(await a.models.list());
      expect(await b.models.currentId()).toBe(second);
      expect(await b.models.load(first)).toEqual(await a.models.load(first));
      expect(await b.tokens.verify(token)).not.toBeNull();
      // Ids generated afterwards continue after the copied ones.
      expect((await b.tokens.create('new')).id).toBe(2);
      expect(await b.models.saveVersion(state.meta, state.tensors)).toBe(3);
      // The API rating is still marked: an import of another data set would still refuse to delete it.
      await expect(b.catalog.importCatalog({ ...fixtureCatalog(), source: 'other', layout: '100k' })).rejects.toThrow(
        'replacing that catalog would delete 1 rating written through the API by 1 user',
      );
    } finally {
      await a.close();
      await b.close();
    }
    await expect(runMigrateStore({ from, to })).rejects.toThrow('the PostgreSQL database already holds a catalog');
  });
});
