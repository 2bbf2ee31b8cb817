/** The closed-form baselines' grid flags, shared by `train` and `evaluate` (cli/modelArgs.ts). */
import { describe, expect, it } from 'vitest';
import { parseEvaluateArgs } from '../../src/cli/evaluateCommand.js';

const base = ['--data', 'x', '--split', 'user-stratified', '--seed', '4'];

describe('--ease-lambda and --ials-* flags', () => {
  it('replace the grids they name and leave the seed to the fit', () => {
    const parsed = parseEvaluateArgs([...base, '--ease-lambda', '200, 500', '--ials-factors', '32', '--ials-iterations', '7']);
    if (parsed === 'help') throw new Error('unexpected help');
    expect(parsed.options.ease).toEqual({ lambdas: [200, 500] });
    expect(parsed.options.ials).toEqual({ factors: [32], maxIterations: 7 });
    expect(parsed.options.seed).toBe(4);
    const none = parseEvaluateArgs(base);
    expect(none !== 'help' && [none.options.ease, none.options.ials]).toEqual([undefined, undefined]);
  });

  it('refuse bad values before any work, naming the flag', () => {
    expect(() => parseEvaluateArgs([...base, '--ease-lambda', '0'])).toThrow(
      'EASE option lambdas must be a non-empty list of positive numbers, got [0]',
    );
    expect(() => parseEvaluateArgs([...base, '--ials-factors', '1.5'])).toThrow('--ials-factors must be an integer, got "1.5"');
    expect(() => parseEvaluateArgs([...base, '--ials-alpha', 'x'])).toThrow('--ials-alpha must be a number, got "x"');
  });
});
