/**
 * Exact top-k by branch and bound: the list `topK(scores, k, exclude)` would return, while computing the
 * exact score of only a few items.
 *
 * Input: a cheap upper bound b_i of every item's score s_i (s_i ≤ b_i; a NaN bound only where the score is
 * NaN too), the exclusion predicate, k, and `evaluate`, which gives the exact scores of a chunk of items.
 * The order is topK's: higher score first, ties by the lower index, NaN below every number.
 *
 * Candidates are visited in the order (bound descending, index ascending, NaN last), a chunk at a time,
 * keeping the k best exact scores in a bounded heap. With w the worst of the kept k and j the next
 * candidate, every unvisited item t has b_t ≤ b_j, and b_t = b_j only with t > j, so
 *
 *   s_w > b_j,  or  s_w = b_j and w < j   ⇒   every unvisited t ranks below w: stop.
 *
 * (b_j NaN: everything left has a NaN score, below any number, so a numeric s_w stops too; a NaN s_w never
 * stops.) No sort of every item: phase 1 visits the items whose bound is at least a threshold t picked
 * from a sample so that about M pass (one tight scan, a sort of those few); if that is not enough, phase 2
 * scans once for the other items whose bound still reaches s_w — the rest can never enter, since s_w only
 * rises — sorts that (usually short) remainder and goes on.
 *
 * Pure: `evaluate` is called with disjoint chunks, in visiting order; nothing else is touched.
 */
import { ranksBelow } from '../rbm/topK.js';

export interface PrunedTopKOptions {
  /** Items evaluated per call of `evaluate` (default max(k, 32)). */
  chunk?: number;
  /** About how many candidates phase 1 takes by bound before the threshold scan (default max(2k, 8 · chunk)). */
  firstCandidates?: number;
}

export interface PrunedTopKResult {
  /** The k best non-excluded item indices, best first (fewer when fewer qualify): exactly topK's list. */
  readonly items: Int32Array;
  /** Their exact scores, as `evaluate` gave them. */
  readonly scores: Float64Array;
  /** How many items were evaluated. */
  readonly evaluated: number;
}

/** a ranks below b (score sa of item a, sb of item b): the order of rbm/topK.ts, written there once. */
const worse = ranksBelow;

/**
 * A bound value t such that about `target` items have a bound ≥ t: the target's share of an even sample
 * of about 1,024 bounds (all of them for a short array). −∞ (every non-NaN item) when the target reaches
 * the sample. Only speed depends on it: a prefix that falls short is completed by phase 2.
 */
function prefixThreshold(bounds: ArrayLike<number>, target: number): number {
  const n = bounds.length;
  const step = Math.max(1, Math.floor(n / 1024));
  const sample = new Float64Array(Math.ceil(n / step));
  let size = 0;
  for (let j = 0; j < n; j += step) if (!Number.isNaN(bounds[j])) sample[size++] = bounds[j];
  const rank = Math.ceil((target * size) / Math.max(1, n));
  if (rank >= size) return Number.NEGATIVE_INFINITY;
  const sorted = sample.subarray(0, size).sort(); // ascending
  return sorted[size - Math.max(1, rank)];
}

export function prunedTopK(
  bounds: ArrayLike<number>,
  k: number,
  exclude: (index: number) => boolean,
  evaluate: (items: Int32Array) => ArrayLike<number>,
  options: PrunedTopKOptions = {},
): PrunedTopKResult {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`top-k needs a whole number k ≥ 0, got ${k}`);
  const chunk = options.chunk ?? Math.max(k, 32);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunk must be a whole number ≥ 1, got ${chunk}`);
  const firstCandidates = Math.max(k, options.firstCandidates ?? Math.max(2 * k, 8 * chunk));
  const n = bounds.length;
  // Bounded heap of the kept items; slot 0 holds the worst.
  const heapItem = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  let evaluated = 0;
  const heapWorse = (x: number, y: number): boolean => worse(heapScore[x], heapItem[x], heapScore[y], heapItem[y]);
  const swap = (x: number, y: number): void => {
    const ti = heapItem[x];
    heapItem[x] = heapItem[y];
    heapItem[y] = ti;
    const ts = heapScore[x];
    heapScore[x] = heapScore[y];
    heapScore[y] = ts;
  };
  const keep = (item: number, score: number): void => {
    if (size < k) {
      heapItem[size] = item;
      heapScore[size] = score;
      let at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!heapWorse(at, parent)) break;
        swap(at, parent);
        at = parent;
      }
      return;
    }
    if (!worse(heapScore[0], heapItem[0], score, item)) return;
    heapItem[0] = item;
    heapScore[0] = score;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let worst = at;
      if (left < size && heapWorse(left, worst)) worst = left;
      if (right < size && heapWorse(right, worst)) worst = right;
      if (worst === at) break;
      swap(at, worst);
      at = worst;
    }
  };
  /** No unvisited item can enter: `next` is the first unvisited candidate in visiting order. */
  const canStop = (next: number): boolean => {
    if (size < k) return false;
    const sw = heapScore[0];
    if (Number.isNaN(sw)) return false;
    const bn = bounds[next];
    if (Number.isNaN(bn)) return true;
    return sw > bn || (sw === bn && heapItem[0] < next);
  };
  /** Evaluates `list` (in visiting order) chunk by chunk; true when it stopped before the end. */
  const visit = (list: Int32Array): boolean => {
    for (let at = 0; at < list.length;) {
      const end = Math.min(list.length, at + chunk);
      const part = list.subarray(at, end);
      const scores = evaluate(part);
      if (scores.length !== part.length) throw new RangeError(`evaluate returned ${scores.length} scores for ${part.length} items`);
      for (let q = 0; q < part.length; q++) {
        const s = scores[q];
        if (s > bounds[part[q]]) throw new RangeError(`item ${part[q]}: score ${s} is above its bound ${bounds[part[q]]}`);
        keep(part[q], s);
      }
      evaluated += part.length;
      at = end;
      if (at < list.length && canStop(list[at])) return true;
    }
    return false;
  };

  if (k > 0) {
    const byVisit = (a: number, b: number): number => (worse(bounds[a], a, bounds[b], b) ? 1 : worse(bounds[b], b, bounds[a], a) ? -1 : 0);
    // Phase 1: every eligible item whose bound is at least t, t picked from a sample of the bounds so that
    // about M items pass — a prefix of the visiting order, found by one tight scan and a short sort.
    const t = prefixThreshold(bounds, firstCandidates);
    const prefix: number[] = [];
    for (let j = 0; j < n; j++) if (bounds[j] >= t && !exclude(j)) prefix.push(j);
    const first = Int32Array.from(prefix).sort(byVisit);
    if (!visit(first) && first.length < n) {
      // Phase 2: the items after the prefix (bound below t, or NaN) that can still enter against the
      // current k-th best — all of them while fewer than k are kept.
      const full = size === k;
      const sw = heapScore[0];
      const w = heapItem[0];
      const rest: number[] = [];
      for (let j = 0; j < n; j++) {
        const bj = bounds[j];
        if (bj >= t) continue;
        const reaches = !full || Number.isNaN(sw) || bj > sw || (bj === sw && j < w);
        if (reaches && !exclude(j)) rest.push(j);
      }
      const order = Int32Array.from(rest).sort(byVisit);
      if (order.length > 0 && !canStop(order[0])) visit(order);
    }
  }

  // The kept items, best first.
  const order = Array.from({ length: size }, (_, x) => x).sort((x, y) => (heapWorse(x, y) ? 1 : heapWorse(y, x) ? -1 : 0));
  return {
    items: Int32Array.from(order, (x) => heapItem[x]),
    scores: Float64Array.from(order, (x) => heapScore[x]),
    evaluated,
  };
}
