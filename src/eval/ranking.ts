/**
 * Ranking evaluation: per-list metrics with binary relevance, list-level metrics
 * (coverage, novelty, concentration), and a streaming accumulator that takes one user at a time.
 *
 * Notation, for one user u:
 *   L   = the recommended list, best first, truncated to its first k entries; L_r is the item at rank r
 *         (r = 1 … |L|, |L| ≤ k; a list may be shorter than k when fewer candidates remain).
 *   R   = the user's relevant held-out items (binary relevance: rel_r = 1 if L_r ∈ R, else 0).
 *   hits = Σ_{r ≤ |L|} rel_r.
 * A user with R = ∅ cannot be measured (recall, nDCG and MAP divide by |R| or by a quantity that is 0):
 * the single-list functions return NaN and the accumulator skips the user and counts them.
 *
 * Definitions follow Microsoft Recommenders' python_evaluation (precision_at_k, recall_at_k, ndcg_at_k
 * with binary gains, map_at_k), so figures are comparable with its published benchmark table.
 */

export { topK } from '../rbm/topK.js';

/** Per-list metrics of one user. Every field lies in [0, 1]. */
export interface ListMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  /** Average precision at k (the user's term of MAP@k). */
  averagePrecision: number;
  hit: number;
}

/** 1 / log2(r + 1) for ranks r = 1 … k (index r − 1). */
function discounts(k: number): Float64Array {
  const d = new Float64Array(k);
  for (let r = 1; r <= k; r++) d[r - 1] = 1 / Math.log2(r + 1);
  return d;
}

/** Ideal DCG for m = 0 … k relevant items at the top: IDCG(m) = Σ_{r=1}^{m} 1 / log2(r + 1). */
function idealDcgs(discount: Float64Array): Float64Array {
  const ideal = new Float64Array(discount.length + 1);
  for (let r = 0; r < discount.length; r++) ideal[r + 1] = ideal[r] + discount[r];
  return ideal;
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`ranking metrics need a whole number k ≥ 1, got ${k}`);
}

/** Throws when the list repeats an item: every metric below assumes each item appears at most once. */
function checkDistinct(list: ArrayLike<number>, n: number): void {
  const seen = new Set<number>();
  for (let r = 0; r < n; r++) {
    if (seen.has(list[r])) throw new Error(`recommended list repeats item ${list[r]} (at rank ${r + 1}); expected distinct items`);
    seen.add(list[r]);
  }
}

/**
 * All per-list metrics in one pass over the first k entries of `list`; null when `relevant` is empty.
 *
 *   precision@k = hits / k                       (denominator k even when |L| < k, as Microsoft Recommenders)
 *   recall@k    = hits / |R|                     (denominator |R|, not min(k, |R|): Microsoft Recommenders)
 *   DCG@k       = Σ_{r=1}^{|L|} rel_r / log2(r + 1)
 *   nDCG@k      = DCG@k / IDCG, IDCG = Σ_{r=1}^{min(k, |R|)} 1 / log2(r + 1)
 *   AP@k        = (1 / min(k, |R|)) · Σ_{r=1}^{|L|} rel_r · P@r,  P@r = (Σ_{s ≤ r} rel_s) / r
 *   hit@k       = 1 if hits > 0 else 0
 */
export function listMetrics(list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): ListMetrics | null {
  checkK(k);
  const discount = discounts(k);
  return listMetricsWith(list, relevant, k, discount, idealDcgs(discount));
}

function listMetricsWith(
  list: ArrayLike<number>,
  relevant: ReadonlySet<number>,
  k: number,
  discount: Float64Array,
  ideal: Float64Array,
): ListMetrics | null {
  const n = Math.min(k, list.length);
  checkDistinct(list, n);
  if (relevant.size === 0) return null;
  let hits = 0;
  let dcg = 0;
  let precisionSum = 0;
  for (let r = 0; r < n; r++) {
    if (!relevant.has(list[r])) continue;
    hits++;
    dcg += discount[r];
    precisionSum += hits / (r + 1);
  }
  const m = Math.min(k, relevant.size);
  return {
    precision: hits / k,
    recall: hits / relevant.size,
    ndcg: dcg / ideal[m],
    averagePrecision: precisionSum / m,
    hit: hits > 0 ? 1 : 0,
  };
}

const orNaN = (m: ListMetrics | null, pick: (m: ListMetrics) => number): number => (m === null ? NaN : pick(m));

/** precision@k = hits / k; NaN when the user has no relevant item. */
export const precisionAtK = (list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number =>
  orNaN(listMetrics(list, relevant, k), (m) => m.precision);
/** recall@k = hits / |R|; NaN when |R| = 0. */
export const recallAtK = (list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number =>
  orNaN(listMetrics(list, relevant, k), (m) => m.recall);
/** nDCG@k with binary gains and ideal DCG over min(k, |R|) positions; NaN when |R| = 0. */
export const ndcgAtK = (list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number =>
  orNaN(listMetrics(list, relevant, k), (m) => m.ndcg);
/** AP@k with denominator min(k, |R|); NaN when |R| = 0. MAP@k is its mean over users. */
export const averagePrecisionAtK = (list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number =>
  orNaN(listMetrics(list, relevant, k), (m) => m.averagePrecision);
/** 1 when any of the first k items is relevant, else 0; NaN when |R| = 0. */
export const hitAtK = (list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number =>
  orNaN(listMetrics(list, relevant, k), (m) => m.hit);

/** Item popularity in the training part, for novelty. */
export interface Popularity {
  /** n_i: training ratings of item i, by item index. */
  readonly counts: ArrayLike<number>;
  /** U: users with at least one training rating. */
  readonly users: number;
}

/** n_i and U of a training part given as parallel user / item index arrays (a Dataset's `users`, `items`). */
export function popularityOf(train: {
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly itemIds: readonly unknown[];
}): Popularity {
  const counts = new Int32Array(train.itemIds.length);
  const users = new Set<number>();
  for (let r = 0; r < train.items.length; r++) {
    counts[train.items[r]]++;
    users.add(train.users[r]);
  }
  return { counts, users: users.size };
}

/**
 * Self-information of recommending item i, in bits:
 *   I(i) = −log2(p_i),  p_i = max(n_i, 1) / U
 * where n_i = the item's training rating count and U = the number of training users. p_i is the share of
 * training users who rated the item; an item nobody rated in training counts as rated once, so its
 * self-information stays finite (log2 U, the largest any item can have). 0 ≤ I(i) ≤ log2 U.
 */
export function selfInformation(popularity: Popularity, item: number): number {
  // log2(U / max(n_i, 1)) is the same quantity, written so an item every user rated gives +0, not −0.
  return Math.log2(popularity.users / Math.max(popularity.counts[item], 1));
}

export interface RankingSummary {
  k: number;
  /** Users measured: those with at least one relevant held-out item. */
  users: number;
  /** Users skipped because no held-out item of theirs was relevant. */
  usersWithoutRelevant: number;
  /** Means over measured users (NaN when none was measured). */
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  hitRate: number;
  /** Lists seen by the list-level metrics: every user added, measured or not. */
  lists: number;
  /** Distinct recommended items / catalogue size. */
  coverage: number;
  /** Mean self-information I(i) over every recommended slot (bits; NaN when no item was recommended). */
  novelty: number;
  /** The item in the most lists (ties: lower index), and the share of lists containing it; null if none. */
  mostRecommended: { item: number; share: number } | null;
}

/** The per-list metrics of each measured user (index x: user key users[x]). */
export interface UserFigures {
  users: Int32Array;
  precision: Float64Array;
  recall: Float64Array;
  ndcg: Float64Array;
  map: Float64Array;
}

export interface RankingAccumulatorOptions {
  k: number;
  /** Number of items in the catalogue (item indices are 0 … catalogSize − 1). */
  catalogSize: number;
  /** Training popularity, for novelty. */
  popularity: Popularity;
}

/**
 * Streams users one at a time and produces the means: O(k) work and memory per user besides the
 * catalogue-sized counts, so a fold of all users is O(users · k).
 *
 * Per-list metrics (precision, recall, nDCG, MAP, hit rate) are means over users with |R| > 0; the others
 * are skipped and counted. List-level metrics describe what was delivered, whatever the relevance, so they
 * use every list added:
 *   coverage = |∪_u L_u| / catalogSize
 *   novelty  = Σ_u Σ_{i ∈ L_u} I(i) / Σ_u |L_u|         (I(i) as in `selfInformation`)
 *   mostRecommended.share = |{u : i* ∈ L_u}| / #lists,  i* = argmax_i |{u : i ∈ L_u}|
 */
export class RankingAccumulator {
  private readonly k: number;
  private readonly discount: Float64Array;
  private readonly ideal: Float64Array;
  private readonly popularity: Popularity;
  /** Lists each item appears in. */
  private readonly listCount: Int32Array;
  private users = 0;
  private skipped = 0;
  private lists = 0;
  private slots = 0;
  private sums = { precision: 0, recall: 0, ndcg: 0, map: 0, hit: 0, information: 0 };
  /** Each measured user's key and metrics, in the order added (for paired comparisons, `paired.ts`). */
  private readonly measured: { user: number; metrics: ListMetrics }[] = [];

  constructor(options: RankingAccumulatorOptions) {
    const { k, catalogSize, popularity } = options;
    checkK(k);
    if (!Number.isInteger(catalogSize) || catalogSize < 1)
      throw new RangeError(`catalogue size must be a whole number ≥ 1, got ${catalogSize}`);
    if (popularity.counts.length !== catalogSize) {
      throw new RangeError(
        `popularity counts cover ${popularity.counts.length} items, the catalogue has ${catalogSize}; expected one count per item`,
      );
    }
    if (!Number.isInteger(popularity.users) || popularity.users < 1) {
      throw new RangeError(`novelty needs at least one training user, got ${popularity.users}`);
    }
    this.k = k;
    this.discount = discounts(k);
    this.ideal = idealDcgs(this.discount);
    this.popularity = popularity;
    this.listCount = new Int32Array(catalogSize);
  }

  /**
   * Adds one user's list (best first; entries after the k-th are ignored) and relevant items. `user` keys
   * the user's figures in `perUser` (default: the number of lists added before).
   */
  add(list: ArrayLike<number>, relevant: ReadonlySet<number>, user = this.lists): void {
    const n = Math.min(this.k, list.length);
    for (let r = 0; r < n; r++) {
      const i = list[r];
      if (!Number.isInteger(i) || i < 0 || i >= this.listCount.length) {
        throw new RangeError(
          `recommended item ${i} at rank ${r + 1} is not an item index of the catalogue (expected 0 … ${this.listCount.length - 1})`,
        );
      }
    }
    // Checks distinctness before anything is counted, so a rejected list leaves the accumulator unchanged.
    const m = listMetricsWith(list, relevant, this.k, this.discount, this.ideal);
    this.lists++;
    for (let r = 0; r < n; r++) {
      const i = list[r];
      this.listCount[i]++;
      this.sums.information += selfInformation(this.popularity, i);
    }
    this.slots += n;
    if (m === null) {
      this.skipped++;
      return;
    }
    this.users++;
    this.measured.push({ user, metrics: m });
    this.sums.precision += m.precision;
    this.sums.recall += m.recall;
    this.sums.ndcg += m.ndcg;
    this.sums.map += m.averagePrecision;
    this.sums.hit += m.hit;
  }

  /** The measured users' own figures, keyed as added: what a paired comparison of two algorithms needs. */
  perUser(): UserFigures {
    const n = this.measured.length;
    const out: UserFigures = {
      users: new Int32Array(n),
      precision: new Float64Array(n),
      recall: new Float64Array(n),
      ndcg: new Float64Array(n),
      map: new Float64Array(n),
    };
    this.measured.forEach(({ user, metrics }, x) => {
      out.users[x] = user;
      out.precision[x] = metrics.precision;
      out.recall[x] = metrics.recall;
      out.ndcg[x] = metrics.ndcg;
      out.map[x] = metrics.averagePrecision;
    });
    return out;
  }

  summary(): RankingSummary {
    const u = this.users;
    let distinct = 0;
    let best = -1;
    for (let i = 0; i < this.listCount.length; i++) {
      if (this.listCount[i] === 0) continue;
      distinct++;
      if (best < 0 || this.listCount[i] > this.listCount[best]) best = i;
    }
    return {
      k: this.k,
      users: u,
      usersWithoutRelevant: this.skipped,
      precision: u ? this.sums.precision / u : NaN,
      recall: u ? this.sums.recall / u : NaN,
      ndcg: u ? this.sums.ndcg / u : NaN,
      map: u ? this.sums.map / u : NaN,
      hitRate: u ? this.sums.hit / u : NaN,
      lists: this.lists,
      coverage: distinct / this.listCount.length,
      novelty: this.slots ? this.sums.information / this.slots : NaN,
      mostRecommended: best < 0 ? null : { item: best, share: this.listCount[best] / this.lists },
    };
  }
}

/**
 * Each user's relevant held-out items, by user index: every held-out item (`'all'`, the Microsoft
 * Recommenders benchmark protocol) or those rated ≥ `threshold`. Users without held-out ratings get an
 * empty set.
 */
export function relevantByUser(
  test: {
    readonly users: Int32Array;
    readonly items: Int32Array;
    readonly levels: Uint8Array;
    readonly ratingLevels: readonly number[];
    readonly userIds: readonly unknown[];
  },
  threshold: number | 'all',
): Set<number>[] {
  if (threshold !== 'all') {
    const top = test.ratingLevels[test.ratingLevels.length - 1];
    if (!Number.isFinite(threshold) || !(top >= threshold)) {
      throw new RangeError(
        `--relevant ${threshold}: no rating level is ≥ ${threshold} (levels ${test.ratingLevels.join(', ')}); expected 'all' or a value on the scale`,
      );
    }
  }
  const out = Array.from({ length: test.userIds.length }, () => new Set<number>());
  for (let r = 0; r < test.items.length; r++) {
    if (threshold === 'all' || test.ratingLevels[test.levels[r]] >= threshold) out[test.users[r]].add(test.items[r]);
  }
  return out;
}
