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
 * from a sample of the *eligible* items' bounds so that about M eligible items pass (one tight scan, a sort
 * of those few) — sampled over every item, a user who rated most of the best-bounded items got a prefix
 * of excluded items and fell through to phase 2 —; if that is not enough, phase 2 scans once for the other
 * items whose bound still reaches s_w — the rest can never enter, since s_w only rises — sorts that
 * remainder and goes on. The sorts are of numeric keys (visitKeys: bound and index packed in one double)
 * rather than through a comparator: a long remainder (thousands of items whose bound does not separate
 * them) sorted with a comparator cost tens of milliseconds.
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
  /** How many items were put in visiting order (the sorts' sizes, both phases): the work besides evaluating. */
  readonly ordered: number;
}

/** a ranks below b (score sa of item a, sb of item b): the order of rbm/topK.ts, written there once. */
const worse = ranksBelow;

/**
 * A bound value t such that about `target` eligible items have a bound ≥ t: from an even sample of about
 * 1,024 items (all of them for a short array), the bounds of the sampled items that are eligible (not
 * excluded, not NaN), each standing for `step` items, so the rank is target / step. −∞ (every non-NaN
 * item) when the target reaches the sample. Only speed depends on it: a prefix that falls short is
 * completed by phase 2.
 */
function prefixThreshold(bounds: ArrayLike<number>, target: number, exclude: (index: number) => boolean): number {
  const n = bounds.length;
  const step = Math.max(1, Math.floor(n / 1024));
  const sample = new Float64Array(Math.ceil(n / step));
  let size = 0;
  for (let j = 0; j < n; j += step) if (!Number.isNaN(bounds[j]) && !exclude(j)) sample[size++] = bounds[j];
  const rank = Math.ceil(target / step);
  if (rank >= size) return Number.NEGATIVE_INFINITY;
  const sorted = sample.subarray(0, size).sort(); // ascending
  return sorted[size - Math.max(1, rank)];
}

/** Items up to 2^21: the packed key of visitKeys, 32 bits of bound and 21 of index, stays below 2^53. */
const KEY_INDEX_BITS = 21;
const KEY_INDEX_SPAN = 2 ** KEY_INDEX_BITS;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * `list` (item indices) in visiting order: bound descending, index ascending, NaN last (by index). Each
 * item becomes one integer-valued double, (2³² − 1 − m(b)) · 2²¹ + index, m the order-preserving map of a
 * float32's bits to an unsigned integer (negative numbers' bits inverted, the sign bit set on the others;
 * −0 as +0, since they compare equal), NaN the largest rank, above −∞'s; a numeric sort of those keys
 * is the visiting order. For bounds that are not float32 numbers, or more than 2²¹ items, the comparator.
 */
function visitOrder(bounds: ArrayLike<number>, list: readonly number[], n: number): Int32Array {
  const byComparator = (): Int32Array =>
    Int32Array.from(list).sort((a, b) => (worse(bounds[a], a, bounds[b], b) ? 1 : worse(bounds[b], b, bounds[a], a) ? -1 : 0));
  if (n > KEY_INDEX_SPAN) return byComparator();
  const keys = new Float64Array(list.length);
  for (let q = 0; q < list.length; q++) {
    const j = list[q];
    const b = bounds[j];
    let rank: number; // 0 for the largest bound
    if (Number.isNaN(b))
      rank = 0xffffffff; // after every number (−∞ has 0xff800000), by index
    else {
      f32[0] = b === 0 ? 0 : b;
      if (f32[0] !== b) return byComparator();
      const bits = u32[0];
      const m = bits >= 0x80000000 ? ~bits >>> 0 : bits + 0x80000000;
      rank = 0xffffffff - m;
    }
    keys[q] = rank * KEY_INDEX_SPAN + j;
  }
  keys.sort();
  const out = new Int32Array(list.length);
  for (let q = 0; q < keys.length; q++) out[q] = keys[q] % KEY_INDEX_SPAN;
  return out;
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
  let ordered = 0;
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
    // Phase 1: every eligible item whose bound is at least t, t picked from a sample of the eligible
    // items' bounds so that about M pass — a prefix of the visiting order, one tight scan and a short sort.
    const t = prefixThreshold(bounds, firstCandidates, exclude);
    const prefix: number[] = [];
    for (let j = 0; j < n; j++) if (bounds[j] >= t && !exclude(j)) prefix.push(j);
    const first = visitOrder(bounds, prefix, n);
    ordered += first.length;
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
      const order = visitOrder(bounds, rest, n);
      ordered += order.length;
      if (order.length > 0 && !canStop(order[0])) visit(order);
    }
  }

  // The kept items, best first.
  const order = Array.from({ length: size }, (_, x) => x).sort((x, y) => (heapWorse(x, y) ? 1 : heapWorse(y, x) ? -1 : 0));
  return {
    items: Int32Array.from(order, (x) => heapItem[x]),
    scores: Float64Array.from(order, (x) => heapScore[x]),
    evaluated,
    ordered,
  };
}
