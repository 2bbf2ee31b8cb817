/**
 * Issue 19's implicit RBM: the activity-scaled hidden input, the ensemble of members stored as one wider
 * RBM, exact leave-one-out (`because`) under both, stored state round trips, and versions stored before
 * either still loading as they were.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend } from '../../src/rbm/backend.js';
import {
  fitImplicitRbm,
  ImplicitRbm,
  joinMembers,
  ratedRows,
  validateImplicitOptions,
  type ImplicitRbmState,
} from '../../src/rbm/implicit.js';
import { activityScale, implicitHidden, medianActivityOf, type ImplicitParams } from '../../src/rbm/implicitParams.js';
import { sigmoid } from '../../src/rbm/params.js';
import { Rng } from '../../src/rng.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 80;
const ITEMS = 40;
const SMALL = {
  hidden: 8,
  epochs: 12,
  lr: 0.1,
  batchSize: 10,
  patience: 4,
  validationFraction: 0.2,
  members: 1,
  hiddenUnits: 'binary' as const,
};

let data: Dataset;
let scaled: ImplicitRbm;
let ensemble: ImplicitRbm;
beforeAll(async () => {
  await initBackend();
  data = twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 });
  scaled = await fitImplicitRbm(data, { ...SMALL, activityScaling: true, seed: 2 });
  ensemble = await fitImplicitRbm(data, { ...SMALL, activityScaling: true, members: 3, seed: 2 });
});

const roundTrip = (state: ImplicitRbmState): ImplicitRbmState => ({
  config: JSON.parse(JSON.stringify(state.config)),
  tensors: Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, Float32Array.from(t)])),
});

/** p(watch) recomputed here in float64 from the parameters: σ(b_i + a Σ_j σ(c_j + s(n) Σ_r W[r,j]) W[i,j]), s(n) = (n_med / n)^exponent. */
function reference(p: ImplicitParams, rated: number[]): number[] {
  const F = p.hidden;
  const s = rated.length > 0 && p.medianActivity ? Math.pow(p.medianActivity / rated.length, p.activityExponent ?? 0.5) : 1;
  const h = Array.from({ length: F }, (_, j) => sigmoid(p.c[j] + s * rated.reduce((x, r) => x + p.W[r * F + j], 0)));
  const a = p.visibleScale ?? 1;
  return Array.from({ length: p.items }, (_, i) => sigmoid(p.b[i] + a * h.reduce((x, hj, j) => x + hj * p.W[i * F + j], 0)));
}

describe('activity scaling', () => {
  it('s(n) = √(n_med / n); n_med is the median of the users’ item counts (empty rows ignored)', () => {
    expect(activityScale({ medianActivity: 16 }, 4)).toBe(2);
    expect(activityScale({ medianActivity: 16 }, 0)).toBe(1);
    expect(activityScale({}, 7)).toBe(1);
    expect(medianActivityOf(Int32Array.from([0, 3, 3, 10, 12]))).toBe(3);
    expect(medianActivityOf(Int32Array.from([0, 3, 3, 10, 12, 20]))).toBe(5);
    expect(medianActivityOf(Int32Array.from([0, 0]))).toBe(0);
    const rows = ratedRows(data);
    expect(scaled.params.medianActivity).toBe(medianActivityOf(rows.rowStart));
  });

  it('the hidden input of n rated items is c + s(n) Σ W, and p(watch) follows it (float64 reference)', () => {
    const p = scaled.params;
    for (const rated of [[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [22, 30]]) {
      const h = implicitHidden(p, rated, 0, rated.length, new Float32Array(p.hidden));
      const s = Math.pow(p.medianActivity! / rated.length, p.activityExponent ?? 0.5);
      for (let j = 0; j < p.hidden; j++) {
        expect(h[j]).toBeCloseTo(sigmoid(p.c[j] + s * rated.reduce((x, r) => x + p.W[r * p.hidden + j], 0)), 6);
      }
      const ref = reference(p, rated);
      const got = scaled.watchProbabilitiesBlock([rated])[0];
      for (let i = 0; i < ITEMS; i++) expect(got[i]).toBeCloseTo(ref[i], 5);
    }
  });

  it('s(n) = (n_med / n)^a with the exponent a; a model keeps its a through storage and `because`', async () => {
    expect(activityScale({ medianActivity: 16, activityExponent: 1 }, 4)).toBe(4);
    expect(activityScale({ medianActivity: 16, activityExponent: 0.75 }, 1)).toBeCloseTo(8, 12);
    expect(activityScale({ medianActivity: 16, activityExponent: 0.5 }, 4)).toBe(2);
    const steep = await fitImplicitRbm(data, { ...SMALL, seed: 2, epochs: 3, activityScaling: true, activityExponent: 0.8 });
    expect(steep.params.activityExponent).toBe(0.8);
    const rated = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const h = steep.hiddenProbabilities(rated);
    const s = Math.pow(steep.params.medianActivity! / rated.length, 0.8);
    const F = steep.params.hidden;
    for (let j = 0; j < F; j++)
      expect(h[j]).toBeCloseTo(sigmoid(steep.params.c[j] + s * rated.reduce((x, r) => x + steep.params.W[r * F + j], 0)), 6);
    const back = ImplicitRbm.fromState(roundTrip(steep.toState()));
    expect(back.params.activityExponent).toBe(0.8);
    expect(back.watchWithout(rated, [20, 30])).toEqual(steep.watchWithout(rated, [20, 30]));
    const { full, without } = steep.watchWithout(rated, [20]);
    expect(full[0]).toBeCloseTo(steep.watchProbabilitiesBlock([rated])[0][20], 6);
    expect(without[0]).toBeCloseTo(steep.watchProbabilitiesBlock([rated.slice(1)])[0][20], 6);
    expect(() => validateImplicitOptions({ activityExponent: 0 })).toThrow('activityExponent must be a number in (0, 2], got 0');
    back.dispose();
    steep.dispose();
  });

  it('training with it differs from training without (the scale reaches the positive phase)', async () => {
    const plain = await fitImplicitRbm(data, { ...SMALL, seed: 2, epochs: 2, activityScaling: false });
    const withScale = await fitImplicitRbm(data, { ...SMALL, seed: 2, epochs: 2, activityScaling: true });
    expect(plain.params.medianActivity).toBeUndefined();
    expect(withScale.params.W).not.toEqual(plain.params.W);
  });
});

describe('because under activity scaling and an ensemble: leave-one-out uses the n − 1 scale', () => {
  for (const [name, get] of [
    ['activity-scaled RBM', () => scaled],
    ['ensemble of 3', () => ensemble],
  ] as const) {
    it(`${name}: without[n] equals scoring the ratings without rating n (1e-6), full equals scoring them all`, () => {
      const model = get();
      const rng = new Rng(9);
      for (const rated of [[1, 3, 5, 7, 9, 24], [2], [0, 10, 20, 30], Array.from({ length: 18 }, (_, i) => i)]) {
        const candidates = Array.from({ length: 6 }, () => rng.int(ITEMS));
        const { full, without } = model.watchWithout(rated, candidates);
        const all = model.watchProbabilitiesBlock([rated])[0];
        candidates.forEach((c, q) => expect(full[q]).toBeCloseTo(all[c], 6));
        rated.forEach((_, n) => {
          const rest = rated.filter((__, t) => t !== n);
          const after = model.watchProbabilitiesBlock([rest])[0];
          candidates.forEach((c, q) => expect(without[n * candidates.length + q]).toBeCloseTo(after[c], 6));
        });
      }
    });
  }
});

describe('ensemble', () => {
  it('is stored as one RBM of E·F hidden units whose logits are the mean of the members’ logits', async () => {
    expect(ensemble.params.hidden).toBe(3 * SMALL.hidden);
    expect(ensemble.params.visibleScale).toBeCloseTo(1 / 3, 12);
    expect(ensemble.training?.members).toHaveLength(3);
    const members = await Promise.all([2, 3, 4].map((seed) => fitImplicitRbm(data, { ...SMALL, activityScaling: true, seed })));
    // Member e is the single RBM of seed + e: the first member is bit for bit the plain fit of that seed.
    expect(members[0].params.W).toEqual(scaled.params.W);
    const joined = joinMembers(members.map((m) => m.params));
    expect(joined.W).toEqual(ensemble.params.W);
    const rated = [1, 4, 9, 33];
    const logit = (x: number) => Math.log(x / (1 - x));
    const each = members.map((m) => m.watchProbabilitiesBlock([rated])[0]);
    const got = ensemble.watchProbabilitiesBlock([rated])[0];
    for (let i = 0; i < ITEMS; i++) {
      const meanLogit = each.reduce((s, p) => s + logit(p[i]), 0) / 3;
      expect(logit(got[i])).toBeCloseTo(meanLogit, 4);
    }
    expect(() => joinMembers([members[0].params, { ...members[1].params, hidden: 4 }])).toThrow(
      'ensemble member 1 is 40 × 4, expected 40 × 8',
    );
  });
});

describe('stored state', () => {
  it('activity-scaled and ensemble models round-trip bit for bit (n_med and members kept)', () => {
    for (const model of [scaled, ensemble]) {
      const back = ImplicitRbm.fromState(roundTrip(model.toState()));
      expect(back.params.medianActivity).toBe(model.params.medianActivity);
      expect(back.params.visibleScale).toBe(model.params.visibleScale);
      expect(back.options).toEqual(model.options);
      expect(back.watchProbabilitiesBlock([[3, 4, 30]])[0]).toEqual(model.watchProbabilitiesBlock([[3, 4, 30]])[0]);
      expect(back.watchWithout([3, 4, 30], [7, 8])).toEqual(model.watchWithout([3, 4, 30], [7, 8]));
      back.dispose();
    }
  });

  it('a version stored before issue 19 (no n_med, no activityScaling, no members) loads unscaled, one member', () => {
    const state = roundTrip(scaled.toState());
    const { activityScaling: _a, members: _m, ...oldOptions } = state.config.options;
    const { medianActivity: _n, ...oldConfig } = state.config;
    const old = ImplicitRbm.fromState({ ...state, config: { ...oldConfig, options: oldOptions as ImplicitRbmState['config']['options'] } });
    expect(old.options.activityScaling).toBe(false);
    expect(old.options.members).toBe(1);
    expect(old.params.medianActivity).toBeUndefined();
    const ref = reference({ ...scaled.params, medianActivity: undefined }, [3, 4]);
    const got = old.watchProbabilitiesBlock([[3, 4]])[0];
    for (let i = 0; i < ITEMS; i++) expect(got[i]).toBeCloseTo(ref[i], 5);
  });

  it('rejects a state whose hidden units do not match members × hidden, or a bad n_med', () => {
    const state = roundTrip(ensemble.toState());
    expect(() =>
      ImplicitRbm.fromState({ ...state, config: { ...state.config, options: { ...state.config.options, members: 2 } } }),
    ).toThrow('implicit RBM state has 24 hidden units, expected 2 member(s) × 8');
    expect(() => ImplicitRbm.fromState({ ...state, config: { ...state.config, medianActivity: -1 } })).toThrow(
      'implicit RBM state medianActivity must be a positive number, got -1',
    );
  });
});
