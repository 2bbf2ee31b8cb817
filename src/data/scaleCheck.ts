/**
 * Is a set of ratings usable as an RBM's rating scale? Checked before an import replaces anything.
 *
 * The RBM has one K-way softmax visible unit per rated item, K = the number of distinct rating levels, and
 * the Dataset stores each rating's level index k ∈ {0 … K−1} in a Uint8Array. Three things go wrong with
 * real files:
 * - no ratings at all (an empty u.data): nothing to train on, and replacing the catalog would lose it;
 * - a column that is not a rating (timestamps, ids) gives hundreds of levels: K explodes and k wraps in
 *   8 bits (k = 335 is stored as 335 mod 256 = 79), so training silently runs on corrupted data;
 * - one stray value (44 among 1–5 stars, or a 0) adds a softmax level almost nobody uses.
 * Hence: at least one rating, K ≤ MAX_RATING_LEVELS, and no level used by fewer than a share
 * OUTLIER_SHARE of the ratings (n_k / n < OUTLIER_SHARE) unless the caller allows the scale as it is.
 */

/** The most rating levels an import may bring: 10 half stars is the largest real scale known. */
export const MAX_RATING_LEVELS = 20;
/** A level used by fewer than this share of the ratings (0.01 %) is taken for a typo. */
export const OUTLIER_SHARE = 1e-4;
/** How many file:line places an error message lists per value. */
const PLACES_SHOWN = 5;

/** The scale cannot be used: no ratings, too many levels, or outlier levels. */
export class RatingScaleError extends Error {
  override readonly name = "RatingScaleError";
  readonly code = "UNUSABLE_RATING_SCALE";
}

/**
 * Where each rating value occurs in a file: the first few line numbers per distinct value, so an error
 * can say "u.data:100001" rather than "rating #100001". Memory stays bounded by the distinct values.
 */
export class RatingValueLines {
  private readonly lines = new Map<number, number[]>();

  constructor(readonly file: string) {}

  add(value: number, line: number): void {
    const seen = this.lines.get(value);
    if (seen === undefined) this.lines.set(value, [line]);
    else if (seen.length < PLACES_SHOWN) seen.push(line);
  }

  /** "file:line" of the first occurrences of `value` (empty when it never occurred). */
  locate(value: number): string[] {
    return (this.lines.get(value) ?? []).map((line) => `${this.file}:${line}`);
  }
}

export interface ScaleCheckOptions {
  /** Names the data in messages (the folder, or "demo:seed=0"). */
  source: string;
  /** Accept outlier levels (`--allow-scale`). Never lifts the empty or the K cap checks. */
  allowScale?: boolean;
  /** file:line places of a value; without it, messages name the rating's position in the import. */
  locate?: (value: number) => string[];
  /** Ratings already stored that the import keeps (an import adding to the same source). */
  storedRatings?: number;
}

const formatCount = (n: number): string => n.toLocaleString("en-US");

/**
 * Throws a RatingScaleError when `values` (every imported rating's value) cannot serve as a rating scale;
 * see the module comment for the rules.
 */
export function checkRatingScale(
  values: readonly number[],
  options: ScaleCheckOptions,
): void {
  const counts = new RatingValueCounts();
  for (const value of values) counts.add(value);
  checkRatingScaleCounts(counts, options);
}

/**
 * How often each distinct rating value occurs, and its first position (1-based) in the import: what the
 * scale check needs, in memory bounded by the distinct values, for ratings that arrive as a stream.
 */
export class RatingValueCounts {
  readonly counts = new Map<number, { count: number; first: number }>();
  total = 0;

  add(value: number): void {
    this.total++;
    const entry = this.counts.get(value);
    if (entry) entry.count++;
    else this.counts.set(value, { count: 1, first: this.total });
  }
}

/** checkRatingScale over counted values (see RatingValueCounts). */
export function checkRatingScaleCounts(values: RatingValueCounts, options: ScaleCheckOptions): void {
  const { source } = options;
  const n = values.total;
  if (n === 0 && (options.storedRatings ?? 0) === 0) {
    throw new RatingScaleError(
      `cannot import ${source}: it holds no ratings, so the catalog would have nothing to train on. ` +
        'Expected a ratings file (u.data, ratings.dat or ratings.csv) with at least one "user item rating timestamp" line; ' +
        "the database was not changed",
    );
  }
  const counts = values.counts;
  const where = (value: number): string => {
    const places = options.locate?.(value) ?? [];
    return places.length > 0
      ? places.join(", ")
      : `rating #${counts.get(value)?.first ?? "?"} of the import`;
  };
  const byRarity = [...counts.entries()].sort(
    (a, b) => a[1].count - b[1].count || a[0] - b[0],
  );

  if (counts.size > MAX_RATING_LEVELS) {
    const shown = byRarity
      .slice(0, 8)
      .map(
        ([value, { count }]) =>
          `${value} (${formatCount(count)}×, ${where(value)})`,
      );
    throw new RatingScaleError(
      `cannot import ${source}: its ratings take ${formatCount(counts.size)} distinct values, more than the ` +
        `${MAX_RATING_LEVELS} levels a rating scale may have (the model has one softmax unit per level). ` +
        `Is the rating column really the third field? Rarest values: ${shown.join("; ")}${counts.size > 8 ? "; …" : ""}`,
    );
  }

  if (options.allowScale) return;
  const outliers = byRarity.filter(
    ([, { count }]) => count < OUTLIER_SHARE * n,
  );
  if (outliers.length > 0) {
    const described = outliers.map(
      ([value, { count }]) =>
        `${value} (used by ${formatCount(count)} of ${formatCount(n)} ratings, at ${where(value)})`,
    );
    const scale = [...counts.keys()].sort((a, b) => a - b);
    throw new RatingScaleError(
      `cannot import ${source}: rating value${outliers.length > 1 ? "s" : ""} ${described.join("; ")} ` +
        `${outliers.length > 1 ? "are" : "is"} used by fewer than ${OUTLIER_SHARE * 100} % of the ratings, most likely a typo ` +
        `that would make the scale [${scale.join(", ")}]. Fix or remove ${outliers.length > 1 ? "those lines" : "that line"}, ` +
        "or pass --allow-scale to import the scale as it is",
    );
  }
}

/**
 * Throws a RatingScaleError unless a catalog loaded for training can be trained on: at least one rating,
 * and 1 ≤ K ≤ MAX_RATING_LEVELS levels. `importHint` says what to run (it differs between tools).
 */
export function assertTrainable(
  data: {
    readonly ratingLevels: readonly number[];
    readonly levels: { readonly length: number };
  },
  importHint = "import a MovieLens folder with npm run import -- --data <folder>",
): void {
  if (data.levels.length === 0) {
    throw new RatingScaleError(
      `the catalog has no ratings to train on: ${importHint}`,
    );
  }
  const K = data.ratingLevels.length;
  if (K > MAX_RATING_LEVELS) {
    throw new RatingScaleError(
      `the catalog's rating scale has ${K} levels (more than ${MAX_RATING_LEVELS}): it was imported from a file whose ` +
        `rating column is not a rating; ${importHint}`,
    );
  }
}
