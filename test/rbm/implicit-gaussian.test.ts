/**
 * The implicit RBM with Gaussian hidden units (implicitParams.ts): the hidden means are the unsquashed
 * inputs, the free energy is the Gaussian's closed form, every engine trains the same statistics (and the
 * shared engine the same parameters on any thread count), `because` stays exact, and the kind is stored
 * with the model while versions stored before it load as binary.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitImplicitRbm, ImplicitRbm, ratedRows, validateImplicitOptions, type ImplicitRbmState } from '../../src/rbm/implicit.js';
import { implicitFreeEnergy, implicitHidden, initImplicitParams, type ImplicitParams } from '../../src/rbm/implicitParams.js';
import { trainImplicitRbm } from '../../src/rbm/implicitTrain.js';
import { sigmoid } from '../../src/rbm/params.js';
import { Rng } from '../../src/rng.js';
import { expectEnginesAgree } from '../helpers/implicitEngines.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 80;
const ITEMS = 40;
const SMALL = {
  hidden: 8,
  epochs: 12,
  lr: 0.01,
  weightDecay: 0.1,
  batchSize: 10,
  patience: 12,
  validationFraction: 0.2,
  members: 1,
  plMembers: 0,
};

let data: Dataset;
let model: ImplicitRbm;
beforeAll(async () => {
  await initBackend();
  data = twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 });
  model = await fitImplicitRbm(data, { ...SMALL, hiddenUnits: 'gaussian', activityScaling: true, seed: 2 });
});

function randomParams(seed: number, items: number, hidden: number): ImplicitParams {
  const rng = new Rng(seed);
  const W = Float32Array.from({ length: items * hidden }, () => rng.normal() * 0.5);
  const b = Float32Array.from({ length: items }, () => rng.normal());
  const c = Float32Array.from({ length: hidden }, () => rng.normal() * 0.5);
  return { items, hidden, W, b, c, hiddenUnits: 'gaussian' };
}

/** p(watch) in float64 from the parameters: σ(b_i + Σ_j (c_j + s(n) Σ_r W[r,j]) W[i,j]). */
function reference(p: ImplicitParams, rated: number[]): number[] {
  const F = p.hidden;
  const s = rated.length > 0 && p.medianActivity ? Math.pow(p.medianActivity / rated.length, p.activityExponent ?? 0.5) : 1;
  const h = Array.from({ length: F }, (_, j) => p.c[j] + s * rated.reduce((x, r) => x + p.W[r * F + j], 0));
  return Array.from({ length: p.items }, (_, i) => sigmoid(p.b[i] + h.reduce((x, hj, j) => x + hj * p.W[i * F + j], 0)));
}

describe('Gaussian hidden units: inference', () => {
  it('E[h | v] is c + s(n) Σ_rated W (no σ), and p(watch) follows it', () => {
    const p = model.params;
    expect(p.hiddenUnits).toBe('gaussian');
    for (const rated of [[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [22, 30]]) {
      const h = implicitHidden(p, rated, 0, rated.length, new Float32Array(p.hidden));
      const s = Math.pow(p.medianActivity! / rated.length, p.activityExponent ?? 0.5);
      for (let j = 0; j < p.hidden; j++) {
        expect(h[j]).toBeCloseTo(p.c[j] + s * rated.reduce((x, r) => x + p.W[r * p.hidden + j], 0), 5);
      }
      const ref = reference(p, rated);
      const got = model.watchProbabilitiesBlock([rated])[0];
      for (let i = 0; i < ITEMS; i++) expect(got[i]).toBeCloseTo(ref[i], 5);
    }
  });

  it('the free energy is −log ∫ exp(−E(v, h)) dh up to a constant (numerical integral, one hidden unit)', () => {
    const p = randomParams(3, 3, 1);
    // E(v, h) = −bᵀv + (h − c)²/2 − h Σ_i v_i W_i; integrate over h on a fine grid.
    const integral = (v: number[]): number => {
      const x = v.reduce((s, vi, i) => s + vi * p.W[i], 0);
      const bv = v.reduce((s, vi, i) => s + vi * p.b[i], 0);
      let sum = 0;
      for (let h = -30; h <= 30; h += 0.001) sum += Math.exp(bv - (h - p.c[0]) ** 2 / 2 + h * x) * 0.001;
      return sum;
    };
    const states = [
      [0, 0, 0],
      [1, 0, 1],
      [1, 1, 1],
      [0, 1, 0],
    ];
    const free = states.map((v) =>
      implicitFreeEnergy(
        p,
        [0, 1, 2].filter((i) => v[i] === 1),
      ),
    );
    const exact = states.map((v) => -Math.log(integral(v)));
    for (let n = 1; n < states.length; n++) expect(free[n] - free[0]).toBeCloseTo(exact[n] - exact[0], 4);
  });

  it('the positive statistic v_i E[h_j | v] is −∂F(v)/∂W[i,j] (finite differences)', () => {
    const p = randomParams(4, 3, 2);
    const rated = [0, 2];
    const h = implicitHidden(p, rated, 0, rated.length, new Float32Array(2));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        const q = { ...p, W: p.W.slice() };
        q.W[i * 2 + j] += 1e-3;
        const up = implicitFreeEnergy(q, rated);
        q.W[i * 2 + j] -= 2e-3;
        const down = implicitFreeEnergy(q, rated);
        expect(-(up - down) / 2e-3).toBeCloseTo((rated.includes(i) ? 1 : 0) * h[j], 2);
      }
    }
  });
});

describe('Gaussian hidden units: training', () => {
  const rows = ratedRows(twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 }));
  const options = validateImplicitOptions({ hidden: 7, lr: 0.01, weightDecay: 0.1, batchSize: 30, epochs: 3, hiddenUnits: 'gaussian' });

  it('the shared engine trains what the typed-array engine trains', async () => {
    await expectEnginesAgree(rows, USERS, ITEMS, options, 'shared', { hiddenUnits: 'gaussian' });
  });

  it('gives the same parameters bit for bit on 1 and 2 threads, dense and sampled; differs from binary units', async () => {
    const counts = new Float64Array(ITEMS);
    for (const i of rows.colIndex) counts[i]++;
    const run = (o: Partial<typeof options>, units: 'binary' | 'gaussian') =>
      trainImplicitRbm(
        {
          ...initImplicitParams(counts, USERS, 7, new Rng(1), 0.1),
          medianActivity: 7,
          ...(units === 'gaussian' ? { hiddenUnits: units } : {}),
        },
        rows,
        null,
        { ...options, ...o },
        new Rng(2),
      );
    for (const phase of [{ negativePhase: 'dense' }, { negativePhase: 'sampled', negativeSamples: 12 }] as const) {
      const one = await run({ ...phase, threads: 1 }, 'gaussian');
      const two = await run({ ...phase, threads: 2 }, 'gaussian');
      expect(Array.from(two.params.W)).toEqual(Array.from(one.params.W));
      expect(Array.from(two.params.c)).toEqual(Array.from(one.params.c));
      expect(two.params.hiddenUnits).toBe('gaussian');
      const binary = await run({ ...phase, threads: 1 }, 'binary');
      expect(Array.from(binary.params.W)).not.toEqual(Array.from(one.params.W));
    }
  });

  it('is refused on the tfjs engine and with CD-T > 1, by name', () => {
    expect(() => validateImplicitOptions({ hiddenUnits: 'gaussian', engine: 'tfjs' })).toThrow(
      /hiddenUnits must be "binary" with engine "tfjs"/,
    );
    expect(() => validateImplicitOptions({ hiddenUnits: 'gaussian', cdSteps: 3 })).toThrow(/or cdSteps > 1/);
    expect(() => validateImplicitOptions({ hiddenUnits: 'purple' as 'binary' })).toThrow(
      /hiddenUnits must be one of "binary", "gaussian", got "purple"/,
    );
  });
});

describe('Gaussian hidden units: because and storage', () => {
  it('without[n] equals scoring the ratings without rating n, with and without the activity scale', async () => {
    const plain = await fitImplicitRbm(data, { ...SMALL, hiddenUnits: 'gaussian', activityScaling: false, seed: 3, epochs: 4 });
    expect(plain.params.medianActivity).toBeUndefined();
    const rng = new Rng(9);
    for (const m of [model, plain]) {
      for (const rated of [[1, 3, 5, 7, 9, 24], [2], Array.from({ length: 18 }, (_, i) => i)]) {
        const candidates = Array.from({ length: 6 }, () => rng.int(ITEMS));
        const { full, without } = m.watchWithout(rated, candidates);
        const all = m.watchProbabilitiesBlock([rated])[0];
        candidates.forEach((c, q) => expect(full[q]).toBeCloseTo(all[c], 6));
        rated.forEach((_, n) => {
          const after = m.watchProbabilitiesBlock([rated.filter((__, t) => t !== n)])[0];
          candidates.forEach((c, q) => expect(without[n * candidates.length + q]).toBeCloseTo(after[c], 6));
        });
      }
    }
    plain.dispose();
  });

  it('round-trips with its kind; a state stored without the field loads binary units', () => {
    const state: ImplicitRbmState = {
      config: JSON.parse(JSON.stringify(model.toState().config)),
      tensors: Object.fromEntries(Object.entries(model.toState().tensors).map(([k, t]) => [k, Float32Array.from(t)])),
    };
    const back = ImplicitRbm.fromState(state);
    expect(back.params.hiddenUnits).toBe('gaussian');
    expect(back.watchProbabilitiesBlock([[3, 4, 30]])[0]).toEqual(model.watchProbabilitiesBlock([[3, 4, 30]])[0]);
    const { hiddenUnits: _h, ...older } = state.config.options;
    const old = ImplicitRbm.fromState({ ...state, config: { ...state.config, options: older as ImplicitRbmState['config']['options'] } });
    expect(old.options.hiddenUnits).toBe('binary');
    expect(old.params.hiddenUnits).toBeUndefined();
    const h = old.hiddenProbabilities([3, 4]);
    for (let j = 0; j < h.length; j++) expect(h[j]).toBeGreaterThan(0);
    for (let j = 0; j < h.length; j++) expect(h[j]).toBeLessThan(1);
    back.dispose();
    old.dispose();
  });
});
