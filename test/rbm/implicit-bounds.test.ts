/**
 * What the watch-like model's pruned top-k reads from the implicit RBM on the serving path
 * (WatchLikeModel.scoreBounds): σ's upper bounds written over the logits themselves, and the chosen items'
 * logits recomputed from p̂ (ImplicitRbm.logitsOfItems) bit for bit as the block product gives them on the
 * wasm backend, for odd and even hidden sizes, an ensemble's visible scale and binary or Gaussian units.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src/rbm/backend.js';
import { DEFAULT_IMPLICIT_OPTIONS, ImplicitRbm, sigmoidUpperBounds } from '../../src/rbm/implicit.js';
import type { ImplicitParams } from '../../src/rbm/implicitParams.js';
import { Rng } from '../../src/rng.js';

beforeAll(async () => {
  await initBackend();
});

function randomRbm(items: number, hidden: number, rng: Rng, extra: Partial<ImplicitParams> = {}): ImplicitRbm {
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * scale);
  const params: ImplicitParams = { items, hidden, W: fill(items * hidden, 0.6), b: fill(items, 4), c: fill(hidden, 1), ...extra };
  return new ImplicitRbm(params, DEFAULT_IMPLICIT_OPTIONS);
}

describe('implicit RBM logits for the pruned top-k', () => {
  it('runs on the wasm backend, whose product logitsOfItems reproduces', () => {
    expect(tf.getBackend()).toBe('wasm');
  });

  for (const [F, extra] of [
    [37, {}],
    [160, { hiddenUnits: 'gaussian' as const }],
    [24, { visibleScale: 1 / 3 }],
  ] as const) {
    it(`logitsOfItems equals the block product's logits bit for bit (F = ${F}, ${JSON.stringify(extra)})`, () => {
      const rng = new Rng(F);
      const I = 301;
      const rbm = randomRbm(I, F, rng, extra);
      const users = Array.from({ length: 5 }, (_, n) => Array.from({ length: 3 + 11 * n }, () => rng.int(I)));
      const { logits, hidden } = rbm.watchLogitsAndHidden(users, 2);
      expect(rbm.watchLogitsBlock(users, 2).map((z) => Array.from(z))).toEqual(logits.map((z) => Array.from(z)));
      const every = Array.from({ length: I }, (_, i) => I - 1 - i);
      users.forEach((_, n) => {
        const mine = rbm.logitsOfItems(hidden[n], every);
        for (let q = 0; q < I; q++) expect(Object.is(mine[q], logits[n][every[q]])).toBe(true);
      });
      expect(() => rbm.logitsOfItems(hidden[0], [I])).toThrow(/outside the model's items/);
      rbm.dispose();
    });
  }

  it('sigmoidUpperBounds gives the same bounds written over the logits as in a new array', () => {
    const rng = new Rng(5);
    const z = Float32Array.from({ length: 2000 }, () => (rng.next() - 0.5) * 80);
    z[3] = Number.NaN;
    const fresh = sigmoidUpperBounds(z);
    const inPlace = sigmoidUpperBounds(z, z);
    expect(inPlace).toBe(z);
    expect(Array.from(inPlace)).toEqual(Array.from(fresh));
    expect(() => sigmoidUpperBounds(z, new Float32Array(3))).toThrow(/3 outputs for 2000 logits/);
  });
});
