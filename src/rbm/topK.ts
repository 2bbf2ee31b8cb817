/**
 * Top-k selection over a score per item index, written once for the server, the batch scorer and the
 * evaluator.
 */

/**
 * The order of every ranked list (topK here, the pruned top-k of model/prunedTopK.ts): item a, scored sa,
 * ranks below item b, scored sb, when its score is lower, or equal with a higher index; NaN ranks below
 * every number (two NaNs by index).
 */
export function ranksBelow(sa: number, a: number, sb: number, b: number): boolean {
  if (sa < sb) return true;
  if (sa > sb) return false;
  if (sa === sb) return a > b;
  const nanA = Number.isNaN(sa);
  const nanB = Number.isNaN(sb);
  return nanA && nanB ? a > b : nanA;
}

/**
 * The k best-scored item indices that `exclude` does not reject, best first. Ties are broken by the lower
 * index (results are deterministic); NaN scores rank below every number. Fewer than k come back when fewer
 * items qualify. A bounded min-heap of the kept items: O(n · log k) time, O(k) memory.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude: (index: number) => boolean): Int32Array {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`top-k needs a whole number k ≥ 0, got ${k}`);
  const heap = new Int32Array(k); // heap[0] is the worst of the kept ones
  let size = 0;
  const worse = (a: number, b: number): boolean => ranksBelow(scores[a], a, scores[b], b);
  const swap = (x: number, y: number): void => {
    const t = heap[x];
    heap[x] = heap[y];
    heap[y] = t;
  };
  if (k === 0) return heap;
  // The score of the worst kept item once the heap is full: a lower score is rejected by one comparison
  // (most items of a long list); an equal one or NaN goes through the full order below.
  let floor = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (size === k && (scores[i] < floor || !worse(heap[0], i))) continue; // cheap rejection before the filter
    if (exclude(i)) continue;
    if (size < k) {
      heap[size] = i;
      let at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!worse(heap[at], heap[parent])) break;
        swap(at, parent);
        at = parent;
      }
      if (size === k) floor = scores[heap[0]];
    } else {
      heap[0] = i;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let worst = at;
        if (left < size && worse(heap[left], heap[worst])) worst = left;
        if (right < size && worse(heap[right], heap[worst])) worst = right;
        if (worst === at) break;
        swap(at, worst);
        at = worst;
      }
      floor = scores[heap[0]];
    }
  }
  return heap.slice(0, size).sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
