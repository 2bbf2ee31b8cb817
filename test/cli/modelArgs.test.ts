/** The model flags of `train` and `evaluate` go through the commands' one flag parser (cli/common.ts). */
import { describe, expect, it } from 'vitest';
import { modelOptionsFromFlags } from '../../src/cli/modelArgs.js';
import { ratingEpochBudget } from '../../src/rbm/config.js';
import { epochBudget as implicitEpochBudget, validateImplicitOptions } from '../../src/rbm/implicit.js';

describe('modelOptionsFromFlags', () => {
  it('reads numbers and integers, and --epochs sets the implicit RBM too', () => {
    const options = modelOptionsFromFlags({ hidden: '8', lr: '0.05', epochs: '3', seed: '2', pcd: true });
    expect(options.user).toMatchObject({ hidden: 8, lr: 0.05, epochs: 3, persistent: true });
    expect(options.seed).toBe(2);
    expect(options.implicit).toEqual({ epochs: 3, scaleEpochs: false });
  });

  it('--epochs turns the epoch budget off: 40 epochs on a catalog whose budget is 15 (user) and 28 (item) stay 40', () => {
    const asked = modelOptionsFromFlags({ epochs: '40' });
    expect([asked.user.scaleEpochs, asked.item.scaleEpochs, asked.implicit?.scaleEpochs]).toEqual([false, false, false]);
    // MovieLens 25M's shape: the user RBM's budget is 15 epochs there, the item RBM's 28, the implicit RBM's 10.
    expect(ratingEpochBudget(asked.user, 162_541, 'user').epochs).toBe(40);
    expect(ratingEpochBudget(asked.item, 59_047, 'item').epochs).toBe(40);
    expect(implicitEpochBudget(validateImplicitOptions(asked.implicit), 162_541)).toBe(40);
    const byDefault = modelOptionsFromFlags({});
    expect(ratingEpochBudget(byDefault.user, 162_541, 'user').epochs).toBe(15);
    expect(ratingEpochBudget(byDefault.item, 59_047, 'item').epochs).toBe(28);
    expect(implicitEpochBudget(validateImplicitOptions(byDefault.implicit), 162_541)).toBe(10);
  });

  it('names the flag and the value it could not read', () => {
    expect(() => modelOptionsFromFlags({ hidden: '2.5' })).toThrow('--hidden must be an integer, got "2.5"');
    expect(() => modelOptionsFromFlags({ lr: 'fast' })).toThrow('--lr must be a number, got "fast"');
    expect(() => modelOptionsFromFlags({ 'batch-size': '' })).toThrow('--batch-size must be an integer, got ""');
  });

  it('leaves ranges to the options check, which names the field', () => {
    expect(() => modelOptionsFromFlags({ hidden: '0' })).toThrow(/hidden must be a positive integer, got 0/);
  });
});
