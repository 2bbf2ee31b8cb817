/**
 * The implicit RBM's refit (issue 19): the validation slice chooses the epoch count and records the curve,
 * then a fresh RBM trains that many epochs on every rating, the slice included, and is the one kept.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitImplicitRbm, ImplicitRbm, validateImplicitOptions, type ImplicitRbmState } from '../../src/rbm/implicit.js';
import { twoTastes } from '../helpers/twoTastes.js';

const SMALL = {
  hidden: 8,
  epochs: 12,
  lr: 0.1,
  batchSize: 10,
  patience: 12,
  validationFraction: 0.2,
  activityScaling: true,
  members: 1,
  plMembers: 0,
};

let data: Dataset;
let validated: ImplicitRbm;
let refitted: ImplicitRbm;
beforeAll(async () => {
  await initBackend();
  data = twoTastes(5, { users: 80, items: 40, pIn: 0.6, pOut: 0.04 });
  validated = await fitImplicitRbm(data, { ...SMALL, seed: 3 });
  refitted = await fitImplicitRbm(data, { ...SMALL, seed: 3, refit: true });
});

describe('refit', () => {
  it('keeps the validated run’s choice and curve, trains the chosen epochs again, and keeps the new parameters', () => {
    const v = validated.training!;
    const r = refitted.training!;
    expect(r.bestEpoch).toBe(v.bestEpoch);
    expect(r.bestValidationNdcg).toBe(v.bestValidationNdcg);
    const untimed = (c: typeof v.curve) => c.map(({ seconds: _s, ...rest }) => rest);
    expect(untimed(r.curve)).toEqual(untimed(v.curve));
    expect(r.epochs).toBe(v.epochs + v.bestEpoch);
    expect(refitted.params.W).not.toEqual(validated.params.W);
    expect(refitted.params.medianActivity).toBe(validated.params.medianActivity);
  });

  it('is seeded: the same data and options give the same parameters', async () => {
    const again = await fitImplicitRbm(data, { ...SMALL, seed: 3, refit: true });
    expect(again.params.W).toEqual(refitted.params.W);
    expect(again.params.b).toEqual(refitted.params.b);
    again.dispose();
  });

  it('learns from every rating: the refitted model ranks a user’s own taste first, as the validated one does', () => {
    // twoTastes: users of taste 0 rate mostly the first half of the items. A user who rated three of them
    // should see the rest of that half above the other half.
    for (const model of [validated, refitted]) {
      const p = model.watchProbabilitiesBlock([[0, 1, 2]])[0];
      const mean = (from: number, to: number): number => p.slice(from, to).reduce((s, x) => s + x, 0) / (to - from);
      expect(mean(3, 20)).toBeGreaterThan(mean(20, 40));
    }
  });

  it('without a validation slice there is nothing to choose from: no refit', async () => {
    const whole = await fitImplicitRbm(data, { ...SMALL, validationFraction: 0, seed: 3 });
    const wholeRefit = await fitImplicitRbm(data, { ...SMALL, validationFraction: 0, seed: 3, refit: true });
    expect(wholeRefit.params.W).toEqual(whole.params.W);
    expect(wholeRefit.training!.epochs).toBe(whole.training!.epochs);
    whole.dispose();
    wholeRefit.dispose();
  });

  it('round-trips with refit kept; a version stored before the field loads as not refitted; a bad value is named', () => {
    const state: ImplicitRbmState = JSON.parse(JSON.stringify({ config: refitted.toState().config }));
    const tensors = refitted.toState().tensors;
    expect(ImplicitRbm.fromState({ config: state.config, tensors }).options.refit).toBe(true);
    const { refit: _r, ...older } = state.config.options;
    const old = ImplicitRbm.fromState({ config: { ...state.config, options: older as ImplicitRbmState['config']['options'] }, tensors });
    expect(old.options.refit).toBe(false);
    expect(() => validateImplicitOptions({ refit: 1 as unknown as boolean })).toThrow(
      'implicit RBM option refit must be true or false, got 1',
    );
  });
});
