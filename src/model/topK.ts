/**
 * Top-k selection over a score per item index, written once for the server, the batch scorer and the
 * evaluator.
 */

/**
 * The `limit` best-scored indices among those `accept` lets through, best first (ties: lower index
 * first, so results are deterministic). A bounded min-heap: O(items · log limit).
 */
export function selectTop(scores: ArrayLike<number>, limit: number, accept: (index: number) => boolean): number[] {
  const heap: number[] = []; // heap[0] is the worst of the kept ones
  const worse = (a: number, b: number): boolean => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const siftDown = (start: number): void => {
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let worst = at;
      if (left < heap.length && worse(heap[left], heap[worst])) worst = left;
      if (right < heap.length && worse(heap[right], heap[worst])) worst = right;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst], heap[at]];
      at = worst;
    }
  };
  if (limit <= 0) return heap;
  for (let i = 0; i < scores.length; i++) {
    if (heap.length === limit && !worse(heap[0], i)) continue; // cheap rejection before the filter
    if (!accept(i)) continue;
    if (heap.length < limit) {
      heap.push(i);
      let at = heap.length - 1;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!worse(heap[at], heap[parent])) break;
        [heap[at], heap[parent]] = [heap[parent], heap[at]];
        at = parent;
      }
    } else {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
