/**
 * The joint RBM (ratings + "rated" units, one hidden layer) on a generated two-taste data set: group A
 * mostly watches items 0–19 and rates them high, group B items 20–39; the few other items they watch they
 * rate low.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { datasetFromTriples, type Dataset, type RatingTriple } from '../../src/data/dataset.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitJointRbm, jointHidden, jointScoresBlock, jointUsers, type JointParams } from '../../src/rbm/joint.js';
import { Rng } from '../../src/rng.js';

const USERS = 80;
const ITEMS = 40;
const K = 5;

function data(seed: number): Dataset {
  const rng = new Rng(seed);
  const triples: RatingTriple[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let i = 0; i < ITEMS; i++) {
      const inGroup = (u % 2 === 0) === i < 20;
      if (rng.next() < (inGroup ? 0.6 : 0.08)) triples.push({ userId: u + 1, itemId: i + 1, value: inGroup ? 4 + rng.int(2) : 1 + rng.int(2) });
    }
  }
  const ids = (n: number): number[] => Array.from({ length: n }, (_, x) => x + 1);
  return datasetFromTriples(triples, { ratingLevels: [1, 2, 3, 4, 5], userIds: ids(USERS), itemIds: ids(ITEMS) });
}

const SMALL = { hidden: 8, epochs: 25, lr: 0.1, batchSize: 10, patience: 4, validationFraction: 0.2 };
let ds: Dataset;
beforeAll(async () => {
  await initBackend();
  ds = data(2);
});

function randomParams(seed: number): JointParams {
  const rng = new Rng(seed);
  const I = 4;
  const F = 3;
  const r = (n: number): Float32Array => new Float32Array(n).map(() => rng.normal());
  return { items: I, levels: K, hidden: F, W: r(I * K * F), bR: r(I * K), D: r(I * F), bV: r(I), c: r(F) };
}

describe('joint RBM inference', () => {
  it('p(h | r, v) = σ(c + Σ_{i rated} (W[i, r_i] + D_i))', () => {
    const p = randomParams(1);
    const user = { items: [1, 3], levels: [4, 0] };
    const got = jointHidden(p, user, new Float32Array(3));
    for (let j = 0; j < 3; j++) {
      const x = p.c[j] + p.W[(1 * K + 4) * 3 + j] + p.D[1 * 3 + j] + p.W[(3 * K + 0) * 3 + j] + p.D[3 * 3 + j];
      expect(got[j]).toBeCloseTo(1 / (1 + Math.exp(-x)), 6);
    }
  });

  it('block scores are σ(bV + D p̂) and softmax_k(bR + W p̂) for every item', () => {
    const p = randomParams(2);
    const users = [{ items: [0], levels: [2] }, { items: [], levels: [] }];
    const scores = jointScoresBlock(p, users);
    users.forEach((u, n) => {
      const h = jointHidden(p, u, new Float32Array(3));
      for (let i = 0; i < 4; i++) {
        const zv = p.bV[i] + [0, 1, 2].reduce((s, j) => s + p.D[i * 3 + j] * h[j], 0);
        expect(scores[n].watch[i]).toBeCloseTo(1 / (1 + Math.exp(-zv)), 5);
        const z = Array.from({ length: K }, (_, k) => p.bR[i * K + k] + [0, 1, 2].reduce((s, j) => s + p.W[(i * K + k) * 3 + j] * h[j], 0));
        const m = Math.max(...z);
        const e = z.map((x) => Math.exp(x - m));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let k = 0; k < K; k++) expect(scores[n].distribution[i * K + k]).toBeCloseTo(e[k] / sum, 5);
      }
    });
  });
});

describe('fitJointRbm', () => {
  it('same seed → identical parameters', async () => {
    const a = await fitJointRbm(ds, { ...SMALL, epochs: 3, seed: 5 });
    const b = await fitJointRbm(ds, { ...SMALL, epochs: 3, seed: 5 });
    expect(b.params.W).toEqual(a.params.W);
    expect(b.params.D).toEqual(a.params.D);
  });

  it('learns what a group watches and how it rates, from one hidden layer', async () => {
    const model = await fitJointRbm(ds, SMALL);
    const [s] = jointScoresBlock(model.params, jointUsers([{ items: [0, 2, 4, 6, 8], levels: [4, 4, 3, 4, 4] }], ITEMS));
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    const expected = (i: number): number => Array.from({ length: K }, (_, k) => (k + 1) * s.distribution[i * K + k]).reduce((x, y) => x + y, 0);
    const groupA = Array.from({ length: 10 }, (_, n) => 10 + n);
    const groupB = Array.from({ length: 20 }, (_, n) => 20 + n);
    expect(mean(groupA.map((i) => s.watch[i]))).toBeGreaterThan(2 * mean(groupB.map((i) => s.watch[i])));
    expect(mean(groupA.map(expected))).toBeGreaterThan(mean(groupB.map(expected)) + 1);
    expect(model.training.epochs - model.training.bestEpoch).toBeLessThanOrEqual(SMALL.patience);
  });
});
