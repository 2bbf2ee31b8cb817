/**
 * The in-memory rating data set every model and evaluator works on.
 *
 * Ratings are stored as parallel typed arrays (coordinate form) over dense internal indices; the external
 * ids (MovieLens user and movie ids) are kept only in `userIds` / `itemIds`. A rating's value is
 * `ratingLevels[levels[r]]`: the RBM has one softmax unit per level, so levels are discovered from the data
 * (1–5 stars → K = 5, half stars 0.5–5 → K = 10) rather than assumed.
 */
export interface Dataset {
  /** Ascending distinct rating values found in the data; K = ratingLevels.length. */
  readonly ratingLevels: readonly number[];
  /** External id of each user index. */
  readonly userIds: readonly number[];
  /** External id of each item index. */
  readonly itemIds: readonly number[];
  /** User index of rating r. */
  readonly users: Int32Array;
  /** Item index of rating r. */
  readonly items: Int32Array;
  /** Level index (into ratingLevels) of rating r. */
  readonly levels: Uint8Array;
  /**
   * Time of rating r in seconds since the Unix epoch, when the data set was built with
   * `withTimestamps` (time-ordered splits need it; training does not, so it is opt-in and costs nothing
   * otherwise). Carried through `subsetRatings`.
   */
  readonly timestamps?: Float64Array;
}

/** One user's known ratings: item indices and level indices (into ratingLevels), same length. */
export interface KnownRatings {
  readonly items: Int32Array;
  readonly levels: Uint8Array;
}

export interface RatingTriple {
  userId: number;
  itemId: number;
  value: number;
}

/** Compressed rows: row r owns entries rowStart[r] .. rowStart[r+1]-1 of `cols` / `levels`. */
export interface CompressedRows {
  readonly rows: number;
  readonly cols: number;
  readonly rowStart: Int32Array;
  readonly colIndex: Int32Array;
  readonly levels: Uint8Array;
}

export const ratingCount = (ds: Dataset): number => ds.users.length;

/** Distinct sorted values, used to discover the rating scale of a data set. */
export function discoverRatingLevels(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * Most levels a Dataset can hold: `levels` is a Uint8Array, so a level index k must satisfy k ≤ 255.
 * A larger K would wrap (k = 335 stored as 335 mod 256 = 79) and corrupt every rating silently.
 */
export const MAX_STORABLE_LEVELS = 256;

/** Throws unless `ratingLevels` fits the Dataset's 8-bit level storage; `where` names the data. */
export function assertStorableLevels(ratingLevels: readonly number[], where: string): void {
  if (ratingLevels.length > MAX_STORABLE_LEVELS) {
    throw new RangeError(
      `${where} has ${ratingLevels.length} rating levels, more than the ${MAX_STORABLE_LEVELS} a Dataset can store ` +
        '(level indices are 8-bit); such a scale is not a rating scale: re-import the data with its real rating column',
    );
  }
}

/** Index of `value` in the ascending `levels`, or -1 when it is not on the scale. */
export function levelIndexOf(levels: readonly number[], value: number): number {
  // Scales are tiny (K ≤ 10): a linear scan with a tolerance for float noise in parsed half stars.
  for (let k = 0; k < levels.length; k++) if (Math.abs(levels[k] - value) < 1e-9) return k;
  return -1;
}

/**
 * Builds a Dataset from (userId, itemId, value) triples. Users and items are indexed in ascending
 * external-id order, so the same ratings always give the same indices whatever their input order.
 * `ratingLevels` defaults to the levels found in the triples. With `withTimestamps`, every triple must
 * carry a finite `timestamp` (as MovieLens ratings do), kept in `timestamps`.
 */
export function datasetFromTriples(
  triples: readonly (RatingTriple & { timestamp?: number })[],
  options: { ratingLevels?: readonly number[]; userIds?: readonly number[]; itemIds?: readonly number[]; withTimestamps?: boolean } = {},
): Dataset {
  const ratingLevels = options.ratingLevels ?? discoverRatingLevels(triples.map((t) => t.value));
  assertStorableLevels(ratingLevels, 'the ratings');
  const userIds = options.userIds ?? [...new Set(triples.map((t) => t.userId))].sort((a, b) => a - b);
  const itemIds = options.itemIds ?? [...new Set(triples.map((t) => t.itemId))].sort((a, b) => a - b);
  const userIndex = new Map(userIds.map((id, i) => [id, i]));
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));
  const n = triples.length;
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const levels = new Uint8Array(n);
  const timestamps = options.withTimestamps ? new Float64Array(n) : undefined;
  triples.forEach((t, r) => {
    const u = userIndex.get(t.userId);
    const i = itemIndex.get(t.itemId);
    const k = levelIndexOf(ratingLevels, t.value);
    if (u === undefined || i === undefined || k < 0) {
      throw new Error(
        `rating #${r + 1} (user ${t.userId}, item ${t.itemId}, value ${t.value}) is outside the data set: ` +
          `expected a known user, a known item and a value in [${ratingLevels.join(', ')}]`,
      );
    }
    users[r] = u;
    items[r] = i;
    levels[r] = k;
    if (timestamps) {
      const time = t.timestamp;
      if (typeof time !== 'number' || !Number.isFinite(time)) {
        throw new Error(
          `rating #${r + 1} (user ${t.userId}, item ${t.itemId}) has no usable timestamp (got ${String(time)}): ` +
            'expected seconds since the Unix epoch on every rating when timestamps are asked for',
        );
      }
      timestamps[r] = time;
    }
  });
  return { ratingLevels, userIds, itemIds, users, items, levels, ...(timestamps ? { timestamps } : {}) };
}

/** The same data set restricted to the ratings at `indices` (users, items and scale unchanged). */
export function subsetRatings(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const levels = new Uint8Array(n);
  const timestamps = ds.timestamps ? new Float64Array(n) : undefined;
  for (let r = 0; r < n; r++) {
    const s = indices[r];
    users[r] = ds.users[s];
    items[r] = ds.items[s];
    levels[r] = ds.levels[s];
    if (timestamps) timestamps[r] = (ds.timestamps as Float64Array)[s];
  }
  return { ratingLevels: ds.ratingLevels, userIds: ds.userIds, itemIds: ds.itemIds, users, items, levels, ...(timestamps ? { timestamps } : {}) };
}

/**
 * Groups ratings into compressed rows: by user (`orientation = 'user'`: rows are users, columns items) or
 * by item (rows are items, columns users). Within a row, entries keep their order in the data set.
 * Counting sort: O(ratings + rows).
 */
export function compressRows(ds: Dataset, orientation: 'user' | 'item'): CompressedRows {
  const rowOf = orientation === 'user' ? ds.users : ds.items;
  const colOf = orientation === 'user' ? ds.items : ds.users;
  const rows = orientation === 'user' ? ds.userIds.length : ds.itemIds.length;
  const cols = orientation === 'user' ? ds.itemIds.length : ds.userIds.length;
  const n = rowOf.length;
  const rowStart = new Int32Array(rows + 1);
  for (let r = 0; r < n; r++) rowStart[rowOf[r] + 1]++;
  for (let u = 0; u < rows; u++) rowStart[u + 1] += rowStart[u];
  const fill = rowStart.slice(0, rows);
  const colIndex = new Int32Array(n);
  const levels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const at = fill[rowOf[r]]++;
    colIndex[at] = colOf[r];
    levels[at] = ds.levels[r];
  }
  return { rows, cols, rowStart, colIndex, levels };
}
