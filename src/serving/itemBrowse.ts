/**
 * Browsing the catalog in an order a new visitor can rate from (issue 22): `GET /api/items?sort=…`.
 *
 * - `title`: the store's search order (titles starting with the query first, then alphabetical).
 * - `popular`: most-rated first, spread across genres and decades. Taken purely by count, the first page
 *   of MovieLens is mostly dramas and comedies of the 1990s; so each page of PAGE items is filled
 *   greedily from the next WINDOW most-rated candidates, picking the one with the highest
 *
 *     value(i) = ln(1 + n_i) − α · Σ_{g ∈ genres(i)} used_g / |genres(i)| − β · used_{decade(i)}
 *
 *   where n_i is its number of ratings and used_g, used_d count the genre g and the decade d among the
 *   movies already on the page. A candidate only ever waits for at most WINDOW − 1 less-rated ones, so the
 *   page stays made of well-known movies; the order is one fixed permutation, so paging never repeats or
 *   skips a movie.
 * - `rating`: highest damped mean first. A movie's mean is pulled towards the catalog's mean μ by m
 *   phantom ratings (a Bayesian average, as IMDb's top list):
 *
 *     damped(i) = (Σ_u r_ui + m · μ) / (n_i + m),   m = the median n_i of rated movies, within [5, 50],
 *
 *   and movies with fewer than m ratings come after all that have m or more (still by damped mean), so a
 *   movie with a single 5★ never tops the list. Unrated movies come last.
 *
 * Ties go to the smaller item id. The orders are computed once per catalog statistics snapshot (the
 * catalog cache keeps one per generation, refreshed while ratings change) and remembered by its identity.
 * A search or genre only filters the chosen order. Pure apart from reading the catalog.
 */
import type { ItemSort } from '../api/types.js';
import type { ItemRatingStats } from '../data/catalog.js';
import type { CatalogReader, ItemRecord } from './ports.js';

export type { ItemSort };
/** Every value of ItemSort (the type is the API's). */
export const ITEM_SORTS: readonly ItemSort[] = ['popular', 'rating', 'title'];

/** Items per diversified page (the page's first screen). */
export const POPULAR_PAGE = 20;
/** Most-rated candidates a popular page's next pick is chosen from. */
export const POPULAR_WINDOW = 30;
/** Weight of a genre already on the page, and of a decade (see the module comment). */
export const POPULAR_GENRE_PENALTY = 0.35;
export const POPULAR_DECADE_PENALTY = 0.15;
/** Bounds of m, the damped mean's phantom ratings. */
export const DAMPING_MIN = 5;
export const DAMPING_MAX = 50;

export interface ItemOrders {
  /** Positions into the stats array, best first. */
  popular: Int32Array;
  rating: Int32Array;
  /** m of the damped mean, and μ. */
  damping: number;
  meanRating: number | null;
}

const byCountThenId = (stats: readonly ItemRatingStats[]) => (a: number, b: number) =>
  stats[b].ratings - stats[a].ratings || stats[a].item.itemId - stats[b].item.itemId;

const decadeOf = (item: ItemRecord): number | null => (item.year === null ? null : Math.floor(item.year / 10));

/** The popular order: most-rated, each page of POPULAR_PAGE diversified over genres and decades. */
export function popularOrder(stats: readonly ItemRatingStats[]): Int32Array {
  const sorted = stats.map((_, n) => n).sort(byCountThenId(stats));
  // Per item, once: ln(1 + n_i), its genres and its decade as small integers (counted in typed arrays).
  const genreIndex = new Map<string, number>();
  const decadeIndex = new Map<number, number>();
  const logCount = new Float64Array(stats.length);
  const genresOf: Int32Array[] = [];
  const decadeOfItem = new Int32Array(stats.length);
  stats.forEach((s, n) => {
    logCount[n] = Math.log1p(s.ratings);
    genresOf.push(Int32Array.from(s.item.genres, (g) => genreIndex.get(g) ?? genreIndex.set(g, genreIndex.size).size - 1));
    const decade = decadeOf(s.item);
    decadeOfItem[n] = decade === null ? -1 : (decadeIndex.get(decade) ?? decadeIndex.set(decade, decadeIndex.size).size - 1);
  });
  const genreUse = new Float64Array(genreIndex.size);
  const decadeUse = new Float64Array(decadeIndex.size);
  const out = new Int32Array(stats.length);
  // The candidates: the next POPULAR_WINDOW of `sorted` not yet placed (refilled as they are placed, so
  // the cost is O(items · window), not a splice of the whole list per pick).
  const window: number[] = [];
  let next = 0;
  let filled = 0;
  while (filled < sorted.length) {
    while (window.length < POPULAR_WINDOW && next < sorted.length) window.push(sorted[next++]);
    if (filled % POPULAR_PAGE === 0) {
      genreUse.fill(0);
      decadeUse.fill(0);
    }
    let bestAt = 0;
    let bestValue = -Infinity;
    for (let w = 0; w < window.length; w++) {
      const n = window[w];
      // An unrated movie is not "popular": once only those are left the order is by id.
      if (stats[n].ratings === 0) break;
      const genres = genresOf[n];
      let genrePenalty = 0;
      for (let g = 0; g < genres.length; g++) genrePenalty += genreUse[genres[g]];
      if (genres.length > 0) genrePenalty /= genres.length;
      const decadePenalty = decadeOfItem[n] < 0 ? 0 : decadeUse[decadeOfItem[n]];
      const value = logCount[n] - POPULAR_GENRE_PENALTY * genrePenalty - POPULAR_DECADE_PENALTY * decadePenalty;
      if (value > bestValue) {
        bestValue = value;
        bestAt = w;
      }
    }
    const [picked] = window.splice(bestAt, 1);
    out[filled++] = picked;
    for (const g of genresOf[picked]) genreUse[g]++;
    if (decadeOfItem[picked] >= 0) decadeUse[decadeOfItem[picked]]++;
  }
  return out;
}

/** m: the median number of ratings of the rated movies, within [DAMPING_MIN, DAMPING_MAX]. */
export function dampingOf(stats: readonly ItemRatingStats[]): number {
  const counts = stats
    .map((s) => s.ratings)
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
  const median = counts.length === 0 ? DAMPING_MIN : counts[Math.floor((counts.length - 1) / 2)];
  return Math.min(DAMPING_MAX, Math.max(DAMPING_MIN, median));
}

/** The highly-rated order: damped mean, movies with at least m ratings first, unrated last. */
export function ratingOrder(stats: readonly ItemRatingStats[]): { order: Int32Array; damping: number; meanRating: number | null } {
  const m = dampingOf(stats);
  let sum = 0;
  let count = 0;
  for (const s of stats) {
    sum += s.ratingSum;
    count += s.ratings;
  }
  const mu = count > 0 ? sum / count : null;
  const damped = stats.map((s) => (s.ratings === 0 || mu === null ? -Infinity : (s.ratingSum + m * mu) / (s.ratings + m)));
  const tier = (s: ItemRatingStats): number => (s.ratings >= m ? 0 : s.ratings > 0 ? 1 : 2);
  const order = stats
    .map((_, n) => n)
    .sort(
      (a, b) =>
        tier(stats[a]) - tier(stats[b]) ||
        (damped[a] === damped[b] ? 0 : damped[b] > damped[a] ? 1 : -1) ||
        stats[a].item.itemId - stats[b].item.itemId,
    );
  return { order: Int32Array.from(order), damping: m, meanRating: mu };
}

const ordersOf = new WeakMap<readonly ItemRatingStats[], ItemOrders>();

/** The orders of one statistics snapshot, computed on first use and remembered with it. */
export function itemOrders(stats: readonly ItemRatingStats[]): ItemOrders {
  let orders = ordersOf.get(stats);
  if (!orders) {
    const rating = ratingOrder(stats);
    orders = { popular: popularOrder(stats), rating: rating.order, damping: rating.damping, meanRating: rating.meanRating };
    ordersOf.set(stats, orders);
  }
  return orders;
}

export interface BrowseRequest {
  search: string;
  /** The catalog's spelling of a genre (validated by the caller), or undefined for all. */
  genre?: string;
  sort: ItemSort;
  limit: number;
  offset: number;
}

type BrowseCatalog = Pick<CatalogReader, 'searchItems' | 'searchItemIds' | 'itemStats'>;

/** A page of the catalog in the asked order, and how many items match in all. */
export function browseItems(catalog: BrowseCatalog, request: BrowseRequest): { items: ItemRecord[]; total: number } {
  const { search, genre, sort, limit, offset } = request;
  if (sort === 'title') return catalog.searchItems(search, limit, offset, genre);
  const stats = catalog.itemStats();
  const order = itemOrders(stats)[sort];
  let keep: (item: ItemRecord) => boolean = () => true;
  if (search !== '') {
    const matching = new Set(catalog.searchItemIds(search, genre));
    keep = (item) => matching.has(item.itemId);
  } else if (genre !== undefined) {
    const wanted = genre.toLowerCase();
    keep = (item) => item.genres.some((g) => g.toLowerCase() === wanted);
  }
  const items: ItemRecord[] = [];
  let total = 0;
  for (const n of order) {
    const item = stats[n].item;
    if (!keep(item)) continue;
    if (total >= offset && items.length < limit) items.push(item);
    total++;
  }
  return { items, total };
}
