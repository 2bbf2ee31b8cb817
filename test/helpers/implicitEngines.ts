/**
 * The implicit RBM trained by the typed-array and the tfjs (or shared) engine from the same initial parameters and
 * the same seeds: the two must agree parameter for parameter, and the tfjs run must leave no tensor behind.
 */
import { expect } from 'vitest';
import { tf } from '../../src/rbm/backend.js';
import type { ImplicitRbmOptions } from '../../src/rbm/implicit.js';
import { initImplicitParams, type ImplicitParams } from '../../src/rbm/implicitParams.js';
import { trainImplicitRbm, type ImplicitEngine, type RatedRows } from '../../src/rbm/implicitTrain.js';
import { Rng } from '../../src/rng.js';

/**
 * Trains on `rows` (of `users` users, `items` items) with the typed-array engine and `other` (default tfjs)
 * and asserts they agree to 4 decimals.
 */
export async function expectEnginesAgree(
  rows: RatedRows,
  users: number,
  items: number,
  options: ImplicitRbmOptions,
  other: ImplicitEngine = 'tfjs',
  start: Pick<ImplicitParams, 'hiddenUnits'> = {},
): Promise<void> {
  const counts = new Float64Array(items);
  for (const i of rows.colIndex) counts[i]++;
  const run = async (engine: ImplicitEngine) =>
    (
      await trainImplicitRbm(
        { ...initImplicitParams(counts, users, options.hidden, new Rng(1), 0.1), ...start },
        rows,
        null,
        { ...options, engine },
        new Rng(2),
      )
    ).params;
  const js = await run('js');
  const before = tf.memory().numTensors;
  const tfjs = await run(other);
  expect(tf.memory().numTensors).toBe(before);
  for (let n = 0; n < js.W.length; n++) expect(tfjs.W[n]).toBeCloseTo(js.W[n], 4);
  for (let i = 0; i < items; i++) expect(tfjs.b[i]).toBeCloseTo(js.b[i], 4);
  for (let j = 0; j < options.hidden; j++) expect(tfjs.c[j]).toBeCloseTo(js.c[j], 4);
}
