/**
 * Pseudo-likelihood training of the implicit RBM with Gaussian hidden units (implicitParams.ts
 * accumulatePl): its statistics are the gradient of Σ_i log p(v_i | v_−i) (finite differences against a
 * float64 evaluation of the objective), the shared engine trains what the typed-array engine trains and
 * the same parameters on 1 and 2 threads, and the settings it cannot run are refused by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/rbm/backend.js';
import {
  DEFAULT_IMPLICIT_OPTIONS,
  ensembleFor,
  fitImplicitRbm,
  ImplicitRbm,
  ratedRows,
  validateImplicitOptions,
  type ImplicitRbmState,
} from '../../src/rbm/implicit.js';
import {
  accumulatePl,
  activityScale,
  cdScratch,
  initImplicitParams,
  zeroGradient,
  type ImplicitParams,
} from '../../src/rbm/implicitParams.js';
import { SAMPLED_FROM_ITEMS, trainImplicitRbm } from '../../src/rbm/implicitTrain.js';
import { Rng } from '../../src/rng.js';
import type { EpochReport } from '../../src/rbm/train.js';
import { expectEnginesAgree } from '../helpers/implicitEngines.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 80;
const ITEMS = 40;

beforeAll(async () => {
  await initBackend();
});

/** Σ_i log p(v_i | v_−i) in float64, straight from the free energy F(v) = −bᵀv − ‖c + s Wᵀv‖² / (2s). */
function pseudoLogLikelihood(p: ImplicitParams, rated: number[]): number {
  const F = p.hidden;
  const s = activityScale(p, rated.length);
  const on = new Set(rated);
  const free = (set: Set<number>): number => {
    let e = 0;
    const x = Array.from(p.c, Number);
    for (const r of set) {
      e -= p.b[r];
      for (let j = 0; j < F; j++) x[j] += s * p.W[r * F + j];
    }
    return e - x.reduce((t, xj) => t + xj * xj, 0) / (2 * s);
  };
  let total = 0;
  for (let i = 0; i < p.items; i++) {
    const with1 = new Set(on).add(i);
    const with0 = new Set(on);
    with0.delete(i);
    const l = free(with0) - free(with1);
    total += on.has(i) ? -Math.log1p(Math.exp(-l)) : -Math.log1p(Math.exp(l));
  }
  return total;
}

function randomParams(seed: number, items: number, hidden: number, medianActivity: number): ImplicitParams {
  const rng = new Rng(seed);
  return {
    items,
    hidden,
    W: Float32Array.from({ length: items * hidden }, () => rng.normal() * 0.3),
    b: Float32Array.from({ length: items }, () => rng.normal()),
    c: Float32Array.from({ length: hidden }, () => rng.normal() * 0.3),
    hiddenUnits: 'gaussian',
    medianActivity,
    activityExponent: 0.7,
  };
}

describe('pseudo-likelihood statistics', () => {
  for (const medianActivity of [0, 5]) {
    it(`are the gradient of Σ_i log p(v_i | v_−i) (finite differences, ${medianActivity ? 'scaled' : 'unscaled'} input)`, () => {
      const p = randomParams(3, 9, 4, medianActivity);
      const rated = [1, 4, 7];
      const grad = zeroGradient(p);
      accumulatePl(p, Int32Array.from(rated), 0, rated.length, grad, cdScratch(p));
      const h = 1e-3;
      const numeric = (arr: Float32Array, k: number): number => {
        const keep = arr[k];
        arr[k] = keep + h;
        const up = pseudoLogLikelihood(p, rated);
        arr[k] = keep - h;
        const down = pseudoLogLikelihood(p, rated);
        arr[k] = keep;
        return (up - down) / (2 * h);
      };
      for (const k of [0, 5, 4 * 4 + 2, 4 * 7 + 3, 4 * 8 + 1]) expect(grad.W[k]).toBeCloseTo(numeric(p.W, k), 2);
      for (const i of [0, 4, 8]) expect(grad.b[i]).toBeCloseTo(numeric(p.b, i), 2);
      for (let j = 0; j < 4; j++) expect(grad.c[j]).toBeCloseTo(numeric(p.c, j), 2);
    });
  }
});

describe('pseudo-likelihood training', () => {
  const rows = ratedRows(twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 }));
  const options = validateImplicitOptions({ hidden: 7, lr: 0.01, weightDecay: 0.1, batchSize: 30, epochs: 3, hiddenUnits: 'gaussian' });
  const pl: typeof options = { ...options, estimator: 'pl' };
  const counts = new Float64Array(ITEMS);
  for (const i of rows.colIndex) counts[i]++;
  const start = (): ImplicitParams => ({
    ...initImplicitParams(counts, USERS, 7, new Rng(1), 0.1),
    medianActivity: 7,
    activityExponent: 0.7,
    hiddenUnits: 'gaussian',
  });

  it('the shared engine trains what the typed-array engine trains', async () => {
    await expectEnginesAgree(rows, USERS, ITEMS, pl, 'shared', { hiddenUnits: 'gaussian' });
  });

  it('gives the same parameters bit for bit on 1 and 2 threads, and differs from CD', async () => {
    const run = (o: Partial<typeof pl>) => trainImplicitRbm(start(), rows, null, { ...pl, negativePhase: 'dense', ...o }, new Rng(2));
    const one = await run({ threads: 1 });
    const two = await run({ threads: 2 });
    expect(Array.from(two.params.W)).toEqual(Array.from(one.params.W));
    expect(Array.from(two.params.b)).toEqual(Array.from(one.params.b));
    expect(Array.from(two.params.c)).toEqual(Array.from(one.params.c));
    const cd = await run({ threads: 1, estimator: 'cd' });
    expect(Array.from(cd.params.W)).not.toEqual(Array.from(one.params.W));
  });

  it('raises the pseudo-likelihood of the training rows', async () => {
    const before = start();
    const after = (await trainImplicitRbm(start(), rows, null, { ...pl, epochs: 10 }, new Rng(2))).params;
    const total = (p: ImplicitParams): number => {
      let t = 0;
      for (let u = 0; u < rows.rows; u++)
        t += pseudoLogLikelihood(p, Array.from(rows.colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1])));
      return t;
    };
    expect(total(after)).toBeGreaterThan(total(before) + 0.1 * Math.abs(total(before)));
  });

  it('is refused, by name, with binary units, the tfjs engine or a sampled negative phase', async () => {
    const binary = { ...start(), hiddenUnits: undefined };
    await expect(trainImplicitRbm(binary, rows, null, pl, new Rng(2))).rejects.toThrow(/pseudo-likelihood.*Gaussian hidden units/);
    await expect(
      trainImplicitRbm(start(), rows, null, { ...pl, negativePhase: 'sampled', negativeSamples: 12 }, new Rng(2)),
    ).rejects.toThrow(/sampled negative phase/);
    await expect(trainImplicitRbm(start(), rows, null, { ...pl, engine: 'sampled' }, new Rng(2))).rejects.toThrow(/engine "sampled"/);
  });
});

describe('pseudo-likelihood members', () => {
  const data = twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 });
  const SMALL = {
    hidden: 6,
    epochs: 4,
    lr: 0.01,
    weightDecay: 0.1,
    batchSize: 20,
    validationFraction: 0,
    hiddenUnits: 'gaussian' as const,
    seed: 4,
    members: 1,
  };

  it('join the CD members as one ensemble of averaged logits, and the model stores and reloads them', async () => {
    const alone = await fitImplicitRbm(data, { ...SMALL, plMembers: 0 });
    const both = await fitImplicitRbm(data, { ...SMALL, plMembers: 1 });
    expect(both.params.hidden).toBe(12);
    expect(both.params.visibleScale).toBe(0.5);
    expect(both.options.plMembers).toBe(1);
    expect(both.training?.members).toHaveLength(2);
    // The first member is the CD model trained alone (same seed); the second differs from a CD member.
    for (let i = 0; i < ITEMS; i++) {
      for (let j = 0; j < 6; j++) expect(both.params.W[i * 12 + j]).toBe(alone.params.W[i * 6 + j]);
    }
    const twoCd = await fitImplicitRbm(data, { ...SMALL, plMembers: 0, members: 2 });
    expect(Array.from(both.params.W)).not.toEqual(Array.from(twoCd.params.W));
    const back = ImplicitRbm.fromState(both.toState());
    expect(back.params.hidden).toBe(12);
    expect(back.params.visibleScale).toBe(0.5);
    const rated = [0, 1, 2];
    expect(Array.from(back.watchProbabilities(rated))).toEqual(Array.from(both.watchProbabilities(rated)));
  });

  it('are not trained where pseudo-likelihood cannot run, and the model says so (plMembers 0)', async () => {
    const sampled = await fitImplicitRbm(data, { ...SMALL, members: 2, plMembers: 1, negativePhase: 'sampled', negativeSamples: 12 });
    expect(sampled.params.hidden).toBe(6);
    expect(sampled.options.plMembers).toBe(0);
    // Nor a second CD member: a sampled catalog trains one.
    expect(sampled.options.members).toBe(1);
    const binary = await fitImplicitRbm(data, { ...SMALL, hiddenUnits: 'binary', plMembers: 1 });
    expect(binary.params.hidden).toBe(6);
    expect(binary.options.plMembers).toBe(0);
  });

  it("the ensemble is the options' on a dense catalog and one CD member on a sampled one, by the catalog's size", () => {
    const o = validateImplicitOptions({ members: 2, plMembers: 2 });
    expect(ensembleFor(o, SAMPLED_FROM_ITEMS - 1)).toEqual({ members: 2, plMembers: 2 });
    expect(ensembleFor(o, SAMPLED_FROM_ITEMS)).toEqual({ members: 1, plMembers: 0 });
    // A catalog's sampled threshold does not apply when the sample would cover every item.
    expect(ensembleFor({ ...o, negativeSamples: SAMPLED_FROM_ITEMS + 10 }, SAMPLED_FROM_ITEMS)).toEqual({ members: 2, plMembers: 2 });
    expect(ensembleFor({ ...o, engine: 'js' }, 10 * SAMPLED_FROM_ITEMS)).toEqual({ members: 2, plMembers: 2 });
    expect(ensembleFor({ ...o, hiddenUnits: 'binary' }, 100)).toEqual({ members: 2, plMembers: 0 });
    expect(ensembleFor({ ...o, cdSteps: 2 }, 100)).toEqual({ members: 2, plMembers: 0 });
    // The served default on ML-100K's 1,682 items and on 25M's 59,047.
    expect(ensembleFor(DEFAULT_IMPLICIT_OPTIONS, 1682)).toEqual({ members: 2, plMembers: 2 });
    expect(ensembleFor(DEFAULT_IMPLICIT_OPTIONS, 59_047)).toEqual({ members: 1, plMembers: 0 });
  });

  it("report their epochs numbered on across the members of each kind, against the kind's whole budget", async () => {
    const reports: EpochReport[] = [];
    await fitImplicitRbm(data, { ...SMALL, members: 2, plMembers: 2, scaleEpochs: false }, (r) => reports.push(r));
    const of = (phase: string) => reports.filter((r) => r.phase === phase).map((r) => [r.epoch, r.maxEpochs]);
    const run = (n: number) => Array.from({ length: n }, (_, e) => [e + 1, n]);
    expect(of('implicit')).toEqual(run(2 * SMALL.epochs));
    expect(of('implicit-pl')).toEqual(run(2 * SMALL.epochs));
    // A single member reports its own epochs.
    const one: EpochReport[] = [];
    await fitImplicitRbm(data, { ...SMALL, plMembers: 0, scaleEpochs: false }, (r) => one.push(r));
    expect(one.map((r) => [r.epoch, r.maxEpochs])).toEqual(run(SMALL.epochs));
  });

  it('a model stored before the field loads with none', async () => {
    const model = await fitImplicitRbm(data, { ...SMALL, plMembers: 0 });
    const state = model.toState();
    const { plMembers, ...older } = state.config.options;
    expect(plMembers).toBe(0);
    const options = older as ImplicitRbmState['config']['options'];
    expect(ImplicitRbm.fromState({ ...state, config: { ...state.config, options } }).options.plMembers).toBe(0);
  });

  it('refuses a bad plMembers, plLr or estimator by name', () => {
    expect(() => validateImplicitOptions({ plMembers: -1 })).toThrow(/plMembers must be a non-negative integer/);
    expect(() => validateImplicitOptions({ plMembers: 0.5 })).toThrow(/plMembers/);
    expect(() => validateImplicitOptions({ plLr: 0 })).toThrow(/plLr must be a positive number/);
    expect(() => validateImplicitOptions({ estimator: 'ml' as 'cd' })).toThrow(/estimator must be one of "cd", "pl"/);
  });
});
