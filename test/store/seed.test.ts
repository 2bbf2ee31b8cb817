import { describe, expect, it } from 'vitest';
import { seedDemoCatalogIfEmpty } from '../../src/store/seed.js';
import { CatalogStore, openDatabase } from '../../src/store/index.js';

describe('seedDemoCatalogIfEmpty', () => {
  it('fills an empty database with the demo catalog once', () => {
    const db = openDatabase(':memory:');
    const store = new CatalogStore(db);
    expect(seedDemoCatalogIfEmpty(store)).toBe(true);
    expect(store.counts()).toEqual({ users: 1000, items: 1500, ratings: 100_000 });
    expect(store.datasetInfo()).toMatchObject({ layout: 'demo', ratingLevels: [1, 2, 3, 4, 5] });
    expect(store.searchItems('toy', 10, 0).total).toBeGreaterThanOrEqual(2);
    expect(seedDemoCatalogIfEmpty(store)).toBe(false);
    expect(store.counts().ratings).toBe(100_000);
    db.close();
  });

  it('leaves a database that already holds a catalog alone', () => {
    const db = openDatabase(':memory:');
    const store = new CatalogStore(db);
    store.importCatalog({
      source: 'elsewhere',
      layout: 'csv',
      items: [{ itemId: 1, title: 'Only (2000)', year: 2000, genres: [] }],
      ratings: [{ userId: 1, itemId: 1, value: 4, timestamp: 0 }],
      ratingLevels: [4],
    });
    expect(seedDemoCatalogIfEmpty(store)).toBe(false);
    expect(store.counts()).toEqual({ users: 1, items: 1, ratings: 1 });
    db.close();
  });
});
