/** Top-N selection: best first, ties by lower index, filtered, fewer when fewer qualify. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { selectTop } from '../../src/model/topK.js';

describe('selectTop', () => {
  it('matches a full sort on random scores, for every limit', () => {
    const rng = new Rng(3);
    const scores = Float32Array.from({ length: 200 }, () => Math.round(rng.next() * 50) / 10); // many ties
    const accept = (i: number): boolean => i % 3 !== 0;
    const sorted = [...scores.keys()].filter(accept).sort((a, b) => scores[b] - scores[a] || a - b);
    for (const limit of [1, 2, 10, 100, 133, 500]) expect(selectTop(scores, limit, accept)).toEqual(sorted.slice(0, limit));
  });

  it('returns nothing when nothing qualifies', () => {
    expect(selectTop(Float32Array.of(1, 2, 3), 5, () => false)).toEqual([]);
  });
});
