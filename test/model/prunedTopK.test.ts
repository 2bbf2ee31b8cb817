/**
 * The exact pruned top-k (model/prunedTopK.ts) returns topK's list — same items, same order, ties by the
 * lower index, NaN last — for any scores, upper bounds, exclusions, k and chunking, while evaluating only
 * items that are not excluded, each at most once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prunedTopK, topK } from '../../src/model/index.js';
import { sigmoidUpperBounds, watchOfLogit } from '../../src/rbm/implicit.js';

/** Scores from a few values (many ties), now and then NaN; bounds at or above them (often equal). */
const instance = fc
  .record({
    items: fc.array(
      fc.record({
        score: fc.oneof(
          { weight: 12, arbitrary: fc.integer({ min: 0, max: 8 }).map((v) => v / 8) },
          { weight: 1, arbitrary: fc.constant(Number.NaN) },
        ),
        slack: fc.oneof(
          { weight: 3, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((v) => v / 8) },
          { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
        ),
        nanBound: fc.boolean(),
        excluded: fc.boolean(),
      }),
      { maxLength: 200 },
    ),
    k: fc.integer({ min: 0, max: 25 }),
    chunk: fc.integer({ min: 1, max: 9 }),
    firstCandidates: fc.integer({ min: 1, max: 40 }),
  })
  .map(({ items, k, chunk, firstCandidates }) => ({
    scores: Float32Array.from(items, (x) => x.score),
    // A NaN bound only for a NaN score (the contract); a NaN score may have any bound.
    bounds: Float32Array.from(items, (x) => (Number.isNaN(x.score) ? (x.nanBound ? Number.NaN : x.slack) : x.score + x.slack)),
    excluded: items.map((x) => x.excluded),
    k,
    chunk,
    firstCandidates,
  }));

describe('prunedTopK', () => {
  it('equals topK on the exact scores (items and scores), evaluating each eligible item at most once', () => {
    fc.assert(
      fc.property(instance, ({ scores, bounds, excluded, k, chunk, firstCandidates }) => {
        const exclude = (i: number): boolean => excluded[i];
        const seen = new Set<number>();
        const result = prunedTopK(
          bounds,
          k,
          exclude,
          (part) => {
            for (const i of part) {
              expect(excluded[i]).toBe(false);
              expect(seen.has(i)).toBe(false);
              seen.add(i);
            }
            return Array.from(part, (i) => scores[i]);
          },
          { chunk, firstCandidates },
        );
        const expected = topK(scores, k, exclude);
        expect(Array.from(result.items)).toEqual(Array.from(expected));
        expect(Array.from(result.scores)).toEqual(Array.from(expected, (i) => scores[i]));
        expect(result.evaluated).toBe(seen.size);
      }),
      { numRuns: 3000 },
    );
  });

  it('with the default chunking too', () => {
    fc.assert(
      fc.property(instance, ({ scores, bounds, excluded, k }) => {
        const exclude = (i: number): boolean => excluded[i];
        const result = prunedTopK(bounds, k, exclude, (part) => Array.from(part, (i) => scores[i]));
        expect(Array.from(result.items)).toEqual(Array.from(topK(scores, k, exclude)));
      }),
      { numRuns: 1000 },
    );
  });

  it('evaluates one chunk when the bound is the score itself, and few when it is tight', () => {
    const n = 50_000;
    const scores = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
    const exact = prunedTopK(
      scores,
      10,
      () => false,
      (part) => Array.from(part, (i) => scores[i]),
    );
    expect(Array.from(exact.items)).toEqual(Array.from(topK(scores, 10, () => false)));
    expect(exact.evaluated).toBe(32);
    // score = bound · a factor in [0.5, 1]: only items whose bound reaches the 10th score are evaluated.
    const factor = (i: number): number => 0.5 + 0.5 * (((i * 104729) % 997) / 996);
    const loose = Float32Array.from(scores, (b, i) => b * factor(i));
    const pruned = prunedTopK(
      scores,
      10,
      (i) => i % 3 === 0,
      (part) => Array.from(part, (i) => loose[i]),
    );
    expect(Array.from(pruned.items)).toEqual(Array.from(topK(loose, 10, (i) => i % 3 === 0)));
    expect(pruned.evaluated).toBeLessThan(n / 50); // the items with a bound above the 10th score (≈ 0.98): 2 %, a third excluded
  });

  it('orders only about M eligible items when the best-bounded ones are excluded (a user who rated them)', () => {
    const n = 59_047;
    const scores = Float32Array.from({ length: n }, (_, i) => 1 - i / n);
    // The 5,000 best-bounded items rated: sampled over every item, the prefix held none of the eligible
    // ones and phase 2 put every item left (54,047) in order.
    const rated = (i: number): boolean => i < 5000;
    const result = prunedTopK(scores, 10, rated, (part) => Array.from(part, (i) => scores[i]));
    expect(Array.from(result.items)).toEqual(Array.from(topK(scores, 10, rated)));
    expect(result.evaluated).toBe(32);
    expect(result.ordered).toBeLessThan(1000);
  });

  it('visits in the order of any float32 bounds (negative, ±0, ±∞, NaN) and of bounds that are not float32 numbers', () => {
    const float32 = fc.oneof(
      fc.float({ noDefaultInfinity: false, noNaN: false }),
      fc.constantFrom(0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -1, 1),
    );
    const float64 = fc.oneof(fc.double(), fc.constantFrom(0, -0, 0.1, -0.1, Number.NaN));
    for (const value of [float32, float64]) {
      fc.assert(
        fc.property(
          fc.array(fc.record({ bound: value, slack: fc.constantFrom(0, 0, 0.5, 2), excluded: fc.boolean() }), { maxLength: 120 }),
          fc.integer({ min: 0, max: 12 }),
          fc.integer({ min: 1, max: 5 }),
          (items, k, chunk) => {
            const bounds = value === float32 ? Float32Array.from(items, (x) => x.bound) : Float64Array.from(items, (x) => x.bound);
            // s ≤ b: the bound itself, or below it by a slack (a NaN bound: a NaN score).
            const scores = Float64Array.from(bounds, (b, i) => (Number.isNaN(b) ? b : b - items[i].slack));
            const exclude = (i: number): boolean => items[i].excluded;
            const result = prunedTopK(bounds, k, exclude, (part) => Array.from(part, (i) => scores[i]), { chunk, firstCandidates: 3 });
            expect(Array.from(result.items)).toEqual(Array.from(topK(scores, k, exclude)));
          },
        ),
        { numRuns: 2000 },
      );
    }
  });

  it('refuses a score above its bound, and bad k or chunk', () => {
    const bounds = Float32Array.from([0.5, 0.4, 0.3]);
    expect(() =>
      prunedTopK(
        bounds,
        1,
        () => false,
        (part) => Array.from(part, () => 0.9),
      ),
    ).toThrow(/above its bound/);
    expect(() =>
      prunedTopK(
        bounds,
        -1,
        () => false,
        () => [],
      ),
    ).toThrow(RangeError);
    expect(() =>
      prunedTopK(
        bounds,
        1,
        () => false,
        () => [],
        { chunk: 0 },
      ),
    ).toThrow(RangeError);
    expect(
      prunedTopK(
        bounds,
        0,
        () => false,
        () => [],
      ).items,
    ).toHaveLength(0);
  });
});

describe('sigmoidUpperBounds (the watch-like bound: a table instead of an exp per item)', () => {
  it('is at or above the float32 p(watch) of every logit, and within 0.0011 of it', () => {
    const edges = [-40, -32, -31.99609375, -1e-7, 0, 1e-7, 0.00390625, 5, 31.99609375, 32, 32.001, 40];
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.float({ min: -40, max: 40, noNaN: true }), fc.constantFrom(...edges)), { minLength: 1 }), (zs) => {
        const z = Float32Array.from(zs);
        const bound = sigmoidUpperBounds(z);
        z.forEach((x, i) => {
          const watch = Math.fround(watchOfLogit(x));
          expect(bound[i]).toBeGreaterThanOrEqual(watch);
          expect(bound[i] - watch).toBeLessThan(0.0011);
        });
      }),
      { numRuns: 300 },
    );
    const special = sigmoidUpperBounds(Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]));
    expect(Number.isNaN(special[0])).toBe(true);
    expect(special[1]).toBe(1);
    expect(special[2]).toBeGreaterThanOrEqual(0);
  });
});
