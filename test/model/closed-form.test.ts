/**
 * The closed-form ranking baselines, EASE^R and implicit ALS, on a generated two-taste data set: group A
 * mostly rates items 0–19, group B items 20–39.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { checkEaseSize, easePathFor, easePrecision, easeWeights, fitEase } from '../../src/model/ease.js';
import { alternate, fitIals, IalsModel } from '../../src/model/ials.js';
import { modelFromState, trainModel, type TrainedModel, type UserInput } from '../../src/model/index.js';
import { rowItems } from '../../src/model/rankingValidation.js';
import { ratedRows, rowsFromLists } from '../../src/rbm/implicit.js';
import { Rng } from '../../src/rng.js';
import { twoTastes } from '../helpers/twoTastes.js';
import { evaluateAlgorithms, evaluateGivenN } from '../../src/eval/runner.js';
import { givenNColdUsers, userStratified } from '../../src/eval/splits.js';

let data: Dataset;
beforeAll(() => {
  data = twoTastes(7, { users: 60, items: 40, pIn: 0.5, pOut: 0.05 });
});

/** Random binary rows (users × items) with about `density` of the cells set. */
function randomRows(users: number, items: number, density: number, seed: number) {
  const rng = new Rng(seed);
  const lists = Array.from({ length: users }, () => Array.from({ length: items }, (_, i) => i).filter(() => rng.next() < density));
  return rowsFromLists(lists, items);
}

/** Every stored user of `data`, folded in from their ratings with their index (as the evaluator does). */
function storedUsers(ds: Dataset): UserInput[] {
  const rows = ratedRows(ds);
  return Array.from({ length: rows.rows }, (_, u) => ({
    ratings: { items: rowItems(rows, u), levels: new Uint8Array(rowItems(rows, u).length) },
    userIndex: u,
  }));
}

function expectSameScores(a: TrainedModel, b: TrainedModel, users: UserInput[]): void {
  const sa = a.scoreUsers(users);
  const sb = b.scoreUsers(users);
  sa.forEach((s, n) => expect(sb[n].score).toEqual(s.score));
}

describe('EASE^R', () => {
  it('the Woodbury path equals the direct inverse, with fewer users than items and with more', () => {
    for (const [users, items] of [
      [12, 30],
      [45, 20],
    ]) {
      const rows = randomRows(users, items, 0.3, users);
      const direct = easePrecision(rows, 7, 'direct');
      const woodbury = easePrecision(rows, 7, 'woodbury');
      for (let n = 0; n < direct.length; n++) expect(Math.abs(woodbury[n] - direct[n])).toBeLessThan(1e-12 + 1e-9 * Math.abs(direct[n]));
    }
    expect(easePathFor(330, 1600)).toBe('woodbury');
    expect(easePathFor(6040, 3706)).toBe('direct');
  });

  it('B has a zero diagonal and B_ij = −P_ij / P_jj elsewhere', () => {
    const rows = ratedRows(data);
    const I = rows.cols;
    const P = easePrecision(rows, 20);
    const B = easeWeights(rows, 20);
    for (let i = 0; i < I; i++) {
      expect(B[i * I + i]).toBe(0);
      for (let j = 0; j < I; j++) if (i !== j) expect(B[i * I + j]).toBeCloseTo(-P[i * I + j] / P[j * I + j], 6);
    }
  });

  it('chooses λ on validation, records the grid, ranks the user’s own taste first; a stored version scores bit for bit alike', async () => {
    const lambdas = [1, 10, 100];
    const { model, state } = await trainModel('ease', data, { seed: 2, ease: { lambdas } });
    expect(model.predictsRatings).toBe(false);
    const config = state.meta.kind === 'ease' ? state.meta.config : null;
    expect(config?.grid.map((g) => g.lambda)).toEqual(lambdas);
    const best = Math.max(...config!.grid.map((g) => g.ndcg ?? -1));
    expect(config?.grid.find((g) => g.lambda === config.lambda)?.ndcg).toBe(best);
    expect(state.meta.training?.notes?.[0]).toContain(`λ = ${config?.lambda} chosen by validation nDCG@10`);
    const users = storedUsers(data);
    const [even, odd] = model.scoreUsers(users.slice(0, 2));
    const mean = (s: Float32Array, from: number) => s.slice(from, from + 20).reduce((a, b) => a + b, 0) / 20;
    expect(mean(even.score, 0)).toBeGreaterThan(mean(even.score, 20));
    expect(mean(odd.score, 20)).toBeGreaterThan(mean(odd.score, 0));
    const copy = modelFromState(structuredClone(state));
    expectSameScores(model, copy, users);
    // A visitor with a stored user's items gets that user's scores, in whatever order they come.
    const visitor = { ratings: { items: users[3].ratings.items.slice().reverse(), levels: users[3].ratings.levels } };
    expect(copy.scoreUsers([visitor])[0].score).toEqual(model.scoreUsers([users[3]])[0].score);
  });

  it('refuses a catalog beyond its item limit with the size and the limit', () => {
    expect(() => fitEase(data, { maxItems: 30 })).toThrow(
      'EASE keeps a dense items × items matrix: this catalog has 40 items, which needs 7 KB of float32 weights (and 4× that while fitting); the limit is 30 items (4 KB). Use ials for a catalog this large.',
    );
    expect(() => checkEaseSize(59_047, 10_000)).toThrow(/59,047 items, which needs 13,300 MB .* the limit is 10,000 items \(381 MB\)/);
  });
});

describe('implicit ALS', () => {
  it('folding a trained user in from their items gives their trained factor', () => {
    const rows = ratedRows(data);
    const setting = { factors: 6, regularization: 2, alpha: 5 };
    const { X, Y } = alternate(rows, setting, 6, 1, 0.01);
    const model = new IalsModel(data, Float32Array.from(Y), {
      ...setting,
      iterations: 6,
      grid: [],
      validationFraction: 0.1,
      rankCutoff: 10,
      seed: 1,
    });
    for (const u of [0, 1, 17, 42]) {
      const x = model.foldIn(rowItems(rows, u));
      for (let f = 0; f < 6; f++) expect(x[f]).toBeCloseTo(X[u * 6 + f], 4);
    }
  });

  it('chooses its setting and iterations on validation; ranks the user’s own taste first; a stored version scores bit for bit alike', async () => {
    const ials = { factors: [4, 8], regularization: [1], alpha: [5], maxIterations: 6 };
    const { model, state } = await trainModel('ials', data, { seed: 3, ials });
    const config = state.meta.kind === 'ials' ? state.meta.config : null;
    expect(config?.grid.map((g) => g.factors)).toEqual([4, 8]);
    const best = config!.grid.reduce((a, b) => ((b.ndcg ?? -1) > (a.ndcg ?? -1) ? b : a));
    expect([config?.factors, config?.iterations]).toEqual([best.factors, best.iterations]);
    const users = storedUsers(data);
    const [even, odd] = model.scoreUsers(users.slice(0, 2));
    const mean = (s: Float32Array, from: number) => s.slice(from, from + 20).reduce((a, b) => a + b, 0) / 20;
    expect(mean(even.score, 0)).toBeGreaterThan(mean(even.score, 20));
    expect(mean(odd.score, 20)).toBeGreaterThan(mean(odd.score, 0));
    expectSameScores(model, modelFromState(structuredClone(state)), users);
    // Same seed, same data: the same model.
    expect(fitIals(data, { ...ials, seed: 3 }).itemFactors).toEqual((model as IalsModel).itemFactors);
  });

  it('refuses bad options and damaged stored configs with the field named', async () => {
    expect(() => fitIals(data, { alpha: [-1] })).toThrow(
      'implicit ALS option alpha must be a non-empty list of non-negative numbers, got [-1]',
    );
    const { state } = await trainModel('ials', data, { ials: { pinned: { factors: 3, regularization: 1, alpha: 1, iterations: 2 } } });
    const meta = structuredClone(state.meta) as unknown as Record<string, Record<string, unknown>>;
    meta.config.factors = 0;
    expect(() => modelFromState({ meta: meta as never, tensors: state.tensors })).toThrow(
      'stored model metadata: config.factors must be a positive integer, got 0',
    );
  });
});

describe('in the evaluation (the same path as every algorithm)', () => {
  it('EASE and implicit ALS beat popularity on the two-taste world, stored users and Given-N visitors alike', async () => {
    const world = twoTastes(11, { users: 120, items: 40, pIn: 0.5, pOut: 0.05 });
    const options = { seed: 1, ease: { lambdas: [5, 50] }, ials: { factors: [4], regularization: [1], alpha: [5], maxIterations: 5 } };
    const protocol = { k: 5, relevant: 'all' as const };
    const [fold] = userStratified(world, 0.25, 1);
    const [ease, ials, popular] = await evaluateAlgorithms([fold], ['ease', 'ials', 'popular'], options, protocol);
    for (const r of [ease, ials]) {
      expect(r.mean.rmse).toBeNull();
      expect(r.mean.ndcg!).toBeGreaterThan(popular.mean.ndcg! + 0.1);
    }
    const given = await evaluateGivenN(
      givenNColdUsers(world, { coldFraction: 0.2, given: [5], seed: 1 }),
      ['ease', 'ials', 'popular'],
      options,
      protocol,
    );
    const ndcg = Object.fromEntries(given[0].algorithms.map((a) => [a.name, a.ndcg!]));
    expect(ndcg.ease).toBeGreaterThan(ndcg.popular + 0.1);
    expect(ndcg.ials).toBeGreaterThan(ndcg.popular + 0.1);
  });
});
