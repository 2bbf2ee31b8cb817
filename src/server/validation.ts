/**
 * Parsing of path parameters, query strings and JSON bodies. Each function either returns a clean value
 * or throws a 400 ApiError whose message names the field and what was expected, so route handlers stay
 * one-liners and no malformed input reaches the services.
 */
import { ID_PATTERN } from '../data/ids.js';
import { ITEM_SORTS, type ItemSort } from '../serving/itemBrowse.js';
import type { RankBy } from '../serving/service.js';
import { ApiError, badRequest } from './errors.js';

export const MAX_LIMIT = 100;
/** Items per `GET /api/users/:id/predictions` request: bounded so one query string cannot ask for all. */
export const MAX_PREDICTION_ITEMS = 1000;
export const MAX_SEARCH_LENGTH = 200;
/**
 * Ratings per visitor request. The fold-in costs O(ratings × hidden units × K) of synchronous CPU on the
 * event loop, so one request must not be able to post the whole catalog.
 */
export const MAX_VISITOR_RATINGS = 500;
/** How far a posted rating may lie from a level and still be taken as that level (float noise only). */
export const RATING_SNAP_TOLERANCE = 1e-9;

/** A data-set id (MovieLens user or movie id): a non-negative integer written in decimal digits. */
export function parseId(raw: unknown, field: string): number {
  if (typeof raw === 'string' && ID_PATTERN.test(raw)) return Number(raw);
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return raw;
  throw badRequest(`${field} must be a non-negative integer id, got ${describe(raw)}`);
}

/**
 * One query parameter as a string. Express's query parser turns `?a=1&a=2` into an array and `?a[b]=1`
 * into an object; neither is meaningful here, so both are rejected rather than silently picking one.
 */
function singleQueryValue(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badRequest(`query parameter "${name}" must be given once, as a plain value`);
  return raw;
}

function parseIntegerQuery(
  query: Record<string, unknown>,
  name: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  const raw = singleQueryValue(query, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export const parseLimitQuery = (query: Record<string, unknown>, fallback: number): number =>
  parseIntegerQuery(query, 'limit', { min: 1, max: MAX_LIMIT, fallback });

export const parseOffsetQuery = (query: Record<string, unknown>): number =>
  parseIntegerQuery(query, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });

export function parseSearchQuery(query: Record<string, unknown>): string {
  const raw = singleQueryValue(query, 'search') ?? '';
  if (raw.length > MAX_SEARCH_LENGTH) throw badRequest(`search must be at most ${MAX_SEARCH_LENGTH} characters`);
  return raw.trim();
}

/**
 * `genre` matched case-insensitively against the catalog's genres and returned in the catalog's spelling;
 * an unknown genre is a 400 listing the known ones (an empty result would hide the typo).
 */
export function parseGenreQuery(query: Record<string, unknown>, knownGenres: readonly string[]): string | undefined {
  return matchGenre(singleQueryValue(query, 'genre'), knownGenres);
}

export function matchGenre(raw: string | undefined, knownGenres: readonly string[]): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const wanted = raw.trim().toLowerCase();
  const match = knownGenres.find((g) => g.toLowerCase() === wanted);
  if (match === undefined) throw badRequest(`unknown genre "${raw}"; expected one of: ${knownGenres.join(', ')}`);
  return match;
}

/** `sort=popular|rating|title` of the catalog (default `fallback`). */
export function parseItemSortQuery(query: Record<string, unknown>, fallback: ItemSort): ItemSort {
  const raw = singleQueryValue(query, 'sort');
  if (raw === undefined || raw === '') return fallback;
  const sort = ITEM_SORTS.find((s) => s === raw);
  if (sort === undefined) throw badRequest(`sort must be one of ${ITEM_SORTS.map((s) => `"${s}"`).join(', ')}, got "${raw}"`);
  return sort;
}

/** `rankBy=score|predicted` (default score): rank by the served algorithm's score, or by predicted rating. */
export function parseRankByQuery(query: Record<string, unknown>): RankBy {
  const raw = singleQueryValue(query, 'rankBy');
  if (raw === undefined || raw === '' || raw === 'score') return 'score';
  if (raw === 'predicted') return 'predicted';
  throw badRequest(`rankBy must be "score" or "predicted", got "${raw}"`);
}

/** `items=1,2,3`: a non-empty, comma-separated list of ids, duplicates removed (first occurrence kept). */
export function parseItemListQuery(query: Record<string, unknown>): number[] {
  const raw = singleQueryValue(query, 'items');
  if (raw === undefined || raw.trim() === '') throw badRequest('items is required: a comma-separated list of item ids, e.g. items=1,2,3');
  const parts = raw.split(',');
  if (parts.length > MAX_PREDICTION_ITEMS) throw badRequest(`items may list at most ${MAX_PREDICTION_ITEMS} ids, got ${parts.length}`);
  const ids = parts.map((p, n) => parseId(p.trim(), `items[${n}]`));
  return [...new Set(ids)];
}

/**
 * A rating value on the served model's scale, returned as the level itself. Only JSON numbers are taken:
 * a string would go through Number(), which reads "0x4", " 4e0 " and "" as numbers. A value within
 * RATING_SNAP_TOLERANCE of a level is that level (4.0000000001 → 4: float noise must not become a new
 * value in the store); anything farther is refused.
 */
export function parseRatingValue(raw: unknown, ratingLevels: readonly number[], field: string): number {
  const expected = `a JSON number equal to one of the rating levels [${ratingLevels.join(', ')}]`;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw badRequest(`${field} must be ${expected}, got ${describe(raw)}`);
  let nearest: number | null = null;
  for (const level of ratingLevels) if (nearest === null || Math.abs(level - raw) < Math.abs(nearest - raw)) nearest = level;
  if (nearest === null || Math.abs(nearest - raw) > RATING_SNAP_TOLERANCE) {
    throw badRequest(`${field} must be ${expected}, got ${describe(raw)}`);
  }
  return nearest;
}

/** The body must be a JSON object (express.json leaves `undefined` when the Content-Type is not JSON). */
export function requireJsonObject(body: unknown): Record<string, unknown> {
  if (body === undefined) throw badRequest('expected a JSON body with Content-Type: application/json');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the JSON body must be an object');
  return body as Record<string, unknown>;
}

export interface RatingInput {
  itemId: number;
  rating: number;
}

/** `{"itemId", "rating"}` as posted for a stored user. */
export function parseRatingBody(body: unknown, ratingLevels: readonly number[]): RatingInput {
  const obj = requireJsonObject(body);
  return {
    itemId: parseId(obj.itemId, 'itemId'),
    rating: parseRatingValue(obj.rating, ratingLevels, 'rating'),
  };
}

/** `{"ratings":[{"itemId","rating"}], "limit"}` as posted by an anonymous visitor. */
export function parseVisitorBody(
  body: unknown,
  ratingLevels: readonly number[],
): { ratings: RatingInput[]; limit: number; genre: string | undefined } {
  const obj = requireJsonObject(body);
  const rawRatings = obj.ratings ?? [];
  if (!Array.isArray(rawRatings)) throw badRequest('ratings must be an array of {"itemId", "rating"} objects');
  if (rawRatings.length > MAX_VISITOR_RATINGS) {
    throw new ApiError(
      413,
      'too_many_ratings',
      `ratings may hold at most ${MAX_VISITOR_RATINGS} entries per request, got ${rawRatings.length}; send the ${MAX_VISITOR_RATINGS} that matter most`,
    );
  }
  const seen = new Set<number>();
  const ratings = rawRatings.map((r: unknown, n): RatingInput => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw badRequest(`ratings[${n}] must be an object {"itemId", "rating"}, got ${describe(r)}`);
    }
    const entry = r as Record<string, unknown>;
    const itemId = parseId(entry.itemId, `ratings[${n}].itemId`);
    // A repeated item would weigh twice in the fold-in; which value the visitor meant is unknowable.
    if (seen.has(itemId)) throw badRequest(`ratings[${n}].itemId ${itemId} is rated more than once`);
    seen.add(itemId);
    return { itemId, rating: parseRatingValue(entry.rating, ratingLevels, `ratings[${n}].rating`) };
  });
  let limit = 10;
  if (obj.limit !== undefined) {
    if (typeof obj.limit !== 'number' || !Number.isInteger(obj.limit) || obj.limit < 1 || obj.limit > MAX_LIMIT) {
      throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${describe(obj.limit)}`);
    }
    limit = obj.limit;
  }
  if (obj.genre !== undefined && obj.genre !== null && typeof obj.genre !== 'string') {
    throw badRequest(`genre must be a string, got ${describe(obj.genre)}`);
  }
  return { ratings, limit, genre: obj.genre ?? undefined };
}

/** `?name=ID`: a required id in the query string. */
export function parseRequiredIdQuery(query: Record<string, unknown>, name: string): number {
  const raw = singleQueryValue(query, name);
  if (raw === undefined || raw === '') throw badRequest(`query parameter "${name}" is required: a user id, e.g. ?${name}=1`);
  return parseId(raw, name);
}

/** `?name=ID` when given. */
export function parseOptionalIdQuery(query: Record<string, unknown>, name: string): number | undefined {
  const raw = singleQueryValue(query, name);
  return raw === undefined || raw === '' ? undefined : parseId(raw, name);
}

/** `{"ratings":[{"itemId","rating"}], "limit"}` for the hidden-unit activations of a visitor's ratings. */
export function parseHiddenActivationsBody(
  body: unknown,
  ratingLevels: readonly number[],
  fallbackLimit: number,
): { ratings: RatingInput[]; limit: number } {
  const obj = requireJsonObject(body);
  if (obj.genre !== undefined) throw badRequest('genre does not apply to hidden-unit activations; send only "ratings" and "limit"');
  const { ratings, limit } = parseVisitorBody(obj, ratingLevels);
  return { ratings, limit: obj.limit === undefined ? fallbackLimit : limit };
}

/**
 * Nesting levels a JSON body may have. The deepest body the API takes, `{"ratings":[{"itemId","rating"}]}`,
 * has 3; anything much deeper is an attack on whatever walks the value (JSON.stringify, a recursive
 * describer), not a request.
 */
export const MAX_JSON_DEPTH = 8;

/**
 * Refuses a parsed body nested deeper than `maxDepth` (400). Walks the value with an explicit stack, so a
 * body nested thousands of levels deep cannot overflow the call stack here either.
 */
export function requireShallowJson(body: unknown, maxDepth = MAX_JSON_DEPTH): void {
  const pending: { value: unknown; depth: number }[] = [{ value: body, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, depth } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 > maxDepth) throw badRequest(`the JSON body is nested more than ${maxDepth} levels deep; no request needs more than 3`);
    for (const child of Array.isArray(value) ? value : Object.values(value)) pending.push({ value: child, depth: depth + 1 });
  }
}

/** Arrays and objects rendered this many levels deep in an error message; deeper ones are `[…]` / `{…}`. */
const DESCRIBED_DEPTH = 2;
/** Entries of an array or object rendered in an error message. */
const DESCRIBED_ENTRIES = 4;

/** A value for an error message, bounded in depth and width whatever it holds (no unbounded recursion). */
function render(value: unknown, depth: number): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? String(value);
  const isArray = Array.isArray(value);
  if (depth >= DESCRIBED_DEPTH) return isArray ? '[…]' : '{…}';
  const entries = isArray ? value : Object.entries(value);
  const shown = entries
    .slice(0, DESCRIBED_ENTRIES)
    .map((entry: unknown) =>
      isArray
        ? render(entry, depth + 1)
        : `${JSON.stringify((entry as [string, unknown])[0])}:${render((entry as [string, unknown])[1], depth + 1)}`,
    );
  if (entries.length > DESCRIBED_ENTRIES) shown.push('…');
  return isArray ? `[${shown.join(',')}]` : `{${shown.join(',')}}`;
}

/** A short, safe rendering of a bad value for an error message. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = render(value, 0);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
