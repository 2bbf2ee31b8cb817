/**
 * The implicit RBM's data preparation at scale (issue 21's train step): carveValidation with nothing held
 * out jumps over its shuffles' draws instead of making them, ratedRows leaves sorted rows alone, and
 * initImplicitParams fills W in one call. Each must give exactly what the plain loops gave: the same
 * parts, the same weights, and the random stream left in the same state, so the model trained after them
 * is the same bit for bit.
 */
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { carveValidation, ratedRows } from '../../src/rbm/implicit.js';
import { initImplicitParams } from '../../src/rbm/implicitParams.js';
import type { RatedRows } from '../../src/rbm/implicitTrain.js';
import { Rng } from '../../src/rng.js';
import { twoTastes } from '../helpers/twoTastes.js';

/** The slow path's effect with nothing held out: each row shuffled by the stream, then sorted. */
function shuffledAndSorted(rows: RatedRows, rng: Rng): Int32Array {
  const out = new Int32Array(rows.rowStart[rows.rows]);
  for (let u = 0; u < rows.rows; u++) {
    const row = rows.colIndex.slice(rows.rowStart[u], rows.rowStart[u + 1]);
    rng.shuffle(row);
    out.set(row.sort(), rows.rowStart[u]);
  }
  return out;
}

describe('the implicit RBM data preparation', () => {
  it('carves nothing out with fraction 0: the rows themselves, the stream advanced by every shuffle', () => {
    const rows = ratedRows(twoTastes(4, { users: 50, items: 30, pIn: 0.5, pOut: 0.05 }));
    // Rows out of order and with a repeat too (carveValidation sorts its parts whatever it is given), an
    // empty row and a row of one item (no draws).
    const unsorted: RatedRows = {
      rows: 4,
      cols: 10,
      rowStart: Int32Array.from([0, 3, 3, 4, 8]),
      colIndex: Int32Array.from([5, 1, 3, 7, 9, 2, 2, 0]),
    };
    for (const input of [rows, unsorted]) {
      const rng = new Rng(9);
      rng.normal(); // a cached second variate must survive the jump as it survives the shuffles
      const reference = new Rng(9);
      reference.normal();
      const { fit, validation } = carveValidation(input, 0, rng);
      expect(Array.from(fit.colIndex)).toEqual(Array.from(shuffledAndSorted(input, reference)));
      expect(Array.from(fit.rowStart)).toEqual(Array.from(input.rowStart));
      expect(validation.colIndex.length).toBe(0);
      expect(Array.from(validation.rowStart)).toEqual(new Array(input.rows + 1).fill(0));
      expect(rng.getState()).toEqual(reference.getState());
      expect(rng.normal()).toBe(reference.normal());
    }
    // The input is left as it was.
    expect(Array.from(unsorted.colIndex)).toEqual([5, 1, 3, 7, 9, 2, 2, 0]);
  });

  it('still holds rows out with a positive fraction', () => {
    const rows = ratedRows(twoTastes(4, { users: 50, items: 30, pIn: 0.5, pOut: 0.05 }));
    const { fit, validation } = carveValidation(rows, 0.2, new Rng(9));
    expect(validation.colIndex.length).toBeGreaterThan(0);
    expect(fit.colIndex.length + validation.colIndex.length).toBe(rows.colIndex.length);
  });

  it('gives each user their distinct items sorted, whatever the order of the ratings', () => {
    const ds: Dataset = {
      ratingLevels: [1, 2],
      userIds: [10, 20, 30],
      itemIds: [1, 2, 3, 4],
      users: Int32Array.from([0, 0, 0, 1, 2, 2, 2, 2]),
      items: Int32Array.from([0, 2, 3, 1, 3, 0, 3, 1]),
      levels: Uint8Array.from([0, 1, 0, 1, 0, 1, 0, 1]),
    };
    const rows = ratedRows(ds);
    expect(Array.from(rows.rowStart)).toEqual([0, 3, 4, 7]);
    expect(Array.from(rows.colIndex)).toEqual([0, 2, 3, 1, 0, 1, 3]);
  });

  it('draws the initial weights as the per-draw loop does, leaving the stream where it left it', () => {
    for (const size of [12 * 5, 7 * 3]) {
      const counts = new Float64Array(size / (size === 60 ? 5 : 3)).fill(2);
      const hidden = size === 60 ? 5 : 3;
      const rng = new Rng(3);
      const p = initImplicitParams(counts, 20, hidden, rng, 0.1);
      const reference = new Rng(3);
      const W = new Float32Array(size);
      for (let n = 0; n < size; n++) W[n] = reference.normal() * 0.1;
      expect(Array.from(p.W)).toEqual(Array.from(W));
      expect(rng.normal()).toBe(reference.normal());
      expect(rng.getState()).toEqual(reference.getState());
    }
  });
});
