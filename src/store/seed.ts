/**
 * `npm start` on an empty database: fill it with the demo catalog so the app works offline, at once.
 */
import { generateDemoCatalog, type DemoOptions } from '../data/demo.js';
import type { CatalogStore } from './catalogStore.js';

/** Imports the demo catalog when the store holds nothing; returns whether it did. */
export function seedDemoCatalogIfEmpty(store: CatalogStore, options: DemoOptions = {}): boolean {
  if (!store.isEmpty()) return false;
  store.importCatalog(generateDemoCatalog(options));
  return true;
}
