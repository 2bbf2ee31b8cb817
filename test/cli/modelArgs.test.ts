/** The model flags of `train` and `evaluate` go through the commands' one flag parser (cli/common.ts). */
import { describe, expect, it } from 'vitest';
import { modelOptionsFromFlags } from '../../src/cli/modelArgs.js';

describe('modelOptionsFromFlags', () => {
  it('reads numbers and integers, and --epochs caps the implicit RBM too', () => {
    const options = modelOptionsFromFlags({ hidden: '8', lr: '0.05', epochs: '3', seed: '2', pcd: true });
    expect(options.user).toMatchObject({ hidden: 8, lr: 0.05, epochs: 3, persistent: true });
    expect(options.seed).toBe(2);
    expect(options.implicit).toEqual({ epochs: 3 });
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
