/**
 * The implicit RBM's tfjs engine off the wasm backend, where readFloat32 falls back to dataSync (a copy,
 * or the backend's own storage), must train what the typed-array engine trains. Its own file: the backend
 * is chosen once per process (each test file runs in its own).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, readFloat32, tf } from '../../src/rbm/backend.js';
import { ratedRows, validateImplicitOptions } from '../../src/rbm/implicit.js';
import { expectEnginesAgree } from '../helpers/implicitEngines.js';
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
    for (const cdSteps of [1, 2]) {
      await expectEnginesAgree(
        rows,
        USERS,
        ITEMS,
        validateImplicitOptions({ hidden: 8, lr: 0.1, batchSize: 30, epochs: 3, cdSteps, hiddenUnits: 'binary' }),
      );
    }
  });
});
