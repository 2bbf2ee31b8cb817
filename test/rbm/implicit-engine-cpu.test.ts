/**
 * The implicit RBM's tfjs engine off the wasm backend, where readFloat32 falls back to dataSync (a copy,
 * or the backend's own storage), must train what the typed-array engine trains. Its own file: the backend
 * is chosen once per process (each test file runs in its own).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, readFloat32, tf } from '../../src/rbm/backend.js';
import { ratedRows, validateImplicitOptions } from '../../src/rbm/implicit.js';
import { initImplicitParams } from '../../src/rbm/implicitParams.js';
import { trainImplicitRbm } from '../../src/rbm/implicitTrain.js';
import { Rng } from '../../src/rng.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 80;
const ITEMS = 40;

beforeAll(async () => {
  expect(await initBackend('cpu')).toBe('cpu');
});

describe('the tfjs engine on the cpu backend', () => {
  it('readFloat32 falls back to the values', () => {
    const t = tf.tensor1d([1, 2, 3]);
    expect(Array.from(readFloat32(t))).toEqual([1, 2, 3]);
    t.dispose();
  });

  it('trains the same parameters as the typed-array engine (CD-1 and CD-2, a partial last batch)', async () => {
    const rows = ratedRows(twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 }));
    const counts = new Float64Array(ITEMS);
    for (const i of rows.colIndex) counts[i]++;
    for (const cdSteps of [1, 2]) {
      const options = validateImplicitOptions({ hidden: 8, lr: 0.1, batchSize: 30, epochs: 3, cdSteps });
      const run = async (engine: 'tfjs' | 'js') =>
        (await trainImplicitRbm(initImplicitParams(counts, USERS, 8, new Rng(1), 0.1), rows, null, { ...options, engine }, new Rng(2)))
          .params;
      const js = await run('js');
      const before = tf.memory().numTensors;
      const tfjs = await run('tfjs');
      expect(tf.memory().numTensors).toBe(before);
      for (let n = 0; n < js.W.length; n++) expect(tfjs.W[n]).toBeCloseTo(js.W[n], 4);
      for (let i = 0; i < ITEMS; i++) expect(tfjs.b[i]).toBeCloseTo(js.b[i], 4);
      for (let j = 0; j < 8; j++) expect(tfjs.c[j]).toBeCloseTo(js.c[j], 4);
    }
  });
});
