/** The catalog: `GET /api/items` (search and browse, serving/itemBrowse.ts), `GET /api/items/:itemId`, `GET /api/genres`. */
import type { Router } from 'express';
import { strictRouter } from '../routing.js';
import type { GenresResponse, Item, ItemPage } from '../../api/types.js';
import { browseItems } from '../../serving/itemBrowse.js';
import type { AppDeps } from '../deps.js';
import { unknownItem } from '../errors.js';
import { parseGenreQuery, parseId, parseItemSortQuery, parseLimitQuery, parseOffsetQuery, parseSearchQuery } from '../validation.js';

export function itemsRouter({ catalog, models }: AppDeps): Router {
  const router = strictRouter();
  router.get('/', (req, res) => {
    const search = parseSearchQuery(req.query);
    const limit = parseLimitQuery(req.query, 20);
    const offset = parseOffsetQuery(req.query);
    const genre = req.query.genre === undefined ? undefined : parseGenreQuery(req.query, catalog.genres());
    const sort = parseItemSortQuery(req.query, 'title');
    const { items, total } = browseItems(catalog, { search, genre, sort, limit, offset });
    res.json({ items, total, limit, offset, sort } satisfies ItemPage);
  });
  router.get('/:itemId', (req, res) => {
    const itemId = parseId(req.params.itemId, 'itemId');
    // While the served model is stale, an item it knows is described as the model knows it (the record
    // loaded with it), so this answer agrees with its recommendations; see ModelHolder.staleness.
    const snapshot = models.snapshot;
    const index = snapshot?.itemIndex.get(itemId);
    const fromModel = snapshot && index !== undefined && models.staleness() !== null ? snapshot.itemRecords[index] : null;
    const item = fromModel ?? catalog.getItem(itemId);
    if (!item) throw unknownItem(itemId);
    res.json(item satisfies Item);
  });
  return router;
}

export function genresRouter({ catalog }: AppDeps): Router {
  const router = strictRouter();
  router.get('/', (_req, res) => {
    res.json({ genres: catalog.genres() } satisfies GenresResponse);
  });
  return router;
}
