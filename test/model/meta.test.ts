/**
 * Stored metadata is read by a schema (model/meta.ts) chosen by its `kind` from the registered kinds
 * (model/algorithms.ts): a damaged or foreign row fails naming the field and what was expected, and a good
 * one comes back typed, with what the schema does not name kept as it was.
 */
import { describe, expect, it } from 'vitest';
import { fitBiasModel } from '../../src/model/bias.js';
import { checkModelMeta, MODEL_KINDS, modelFromState, type ModelMeta } from '../../src/model/index.js';
import { RandomModel } from '../../src/model/popularity.js';
import { twoTastes } from '../helpers/twoTastes.js';

const train = twoTastes(1, { users: 12, pIn: 0.6, pOut: 0.1 });
const biasMeta = (): Record<string, unknown> => JSON.parse(JSON.stringify(fitBiasModel(train).toState().meta)) as Record<string, unknown>;

describe('checkModelMeta', () => {
  it('returns a stored bias version typed by its kind', () => {
    const meta: ModelMeta = checkModelMeta(biasMeta());
    expect(meta.kind).toBe('bias');
    if (meta.kind === 'bias') expect(meta.config.regUser).toBe(15);
  });

  it('names every registered kind when the kind is unknown', () => {
    const message = (() => {
      try {
        checkModelMeta({ ...biasMeta(), kind: 'ease-of-the-future' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toContain('kind must be one of');
    for (const { kind } of MODEL_KINDS) expect(message).toContain(`"${kind}"`);
  });

  it.each([
    ['ratingLevels', (m: Record<string, unknown>) => ({ ...m, ratingLevels: [] }), /ratingLevels must be a non-empty list of numbers/],
    ['userIds', (m: Record<string, unknown>) => ({ ...m, userIds: [1, 'two'] }), /userIds must be a list of ids/],
    ['config', (m: Record<string, unknown>) => ({ ...m, config: 3 }), /config must be an object/],
    [
      'config.regUser',
      (m: Record<string, unknown>) => ({ ...m, config: { regItem: 10, epochs: 10, globalMean: 3.5 } }),
      /config\.regUser must be a finite number, got nothing/,
    ],
    [
      'training.seconds',
      (m: Record<string, unknown>) => ({ ...m, training: { seconds: 'soon' } }),
      /training\.seconds must be a finite number/,
    ],
  ])('a damaged %s fails naming the field', (_field, damage, message) => {
    expect(() => checkModelMeta(damage(biasMeta()))).toThrow(message);
    expect(() => modelFromState({ meta: damage(biasMeta()) as ModelMeta, tensors: fitBiasModel(train).toState().tensors })).toThrow(
      message,
    );
  });

  it('names nested fields and enumerations of the RBM config', () => {
    const rbm = {
      ...biasMeta(),
      kind: 'rbm',
      config: {
        orientation: 'sideways',
        seed: 0,
        validationFraction: 0.05,
        mixture: { user: 1, item: 0, bias: 0 },
        bias: { regItem: 10, regUser: 15, epochs: 10, globalMean: 3 },
        hidden: { user: 4, item: null },
      },
    };
    expect(() => checkModelMeta(rbm)).toThrow(/config\.orientation must be "user", "item" or "both", got "sideways"/);
    const negative = { ...rbm, config: { ...rbm.config, orientation: 'user', mixture: { user: -1, item: 0, bias: 0 } } };
    expect(() => checkModelMeta(negative)).toThrow(/config\.mixture\.user must be a non-negative number, got -1/);
  });

  it('keeps fields the schema does not name (a newer trainer may record more)', () => {
    const meta = checkModelMeta({ ...biasMeta(), training: { seconds: 1, gpu: 'none' } });
    expect(meta.training).toEqual({ seconds: 1, gpu: 'none' });
  });

  it('loads the kind the metadata names', () => {
    const state = new RandomModel(train, 7).toState();
    const model = modelFromState(JSON.parse(JSON.stringify({ meta: state.meta, tensors: {} })) as typeof state);
    expect(model).toBeInstanceOf(RandomModel);
    expect((model as RandomModel).seed).toBe(7);
  });
});
