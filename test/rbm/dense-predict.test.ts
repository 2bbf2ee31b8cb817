import { describe, expect, it } from 'vitest';
import { compressRows } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitRecommender } from '../../src/rbm/fit.js';

describe('RbmRecommender dense scoring', () => {
  it('scores the whole catalogue through tfjs exactly as item by item', async () => {
    await initBackend();
    const ds = generateSyntheticRatings({ seed: 11, users: 120, items: 600, ratings: 9000 });
    const { model } = await fitRecommender(ds, { hidden: 12, epochs: 4 }, undefined, false);
    model.parts.mixture = { user: 0.4, item: 0.4, bias: 0.2 };
    const rows = compressRows(ds, 'user');
    const all = Int32Array.from({ length: model.itemCount }, (_, i) => i);
    for (const u of [0, 7, 119]) {
      const ratings = { items: rows.colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1]), levels: rows.levels.subarray(rows.rowStart[u], rows.rowStart[u + 1]) };
      for (const options of [{ userIndex: u }, {}]) {
        const scorer = model.foldIn(ratings, options);
        const dense = scorer.predict(all); // ≥ 256 items: the tfjs path
        for (let from = 0; from < all.length; from += 100) {
          const chunk = all.subarray(from, Math.min(all.length, from + 100)); // < 256 items: the loops
          const loop = scorer.predict(chunk);
          for (let n = 0; n < chunk.length; n++) {
            expect(dense.expected[from + n]).toBeCloseTo(loop.expected[n], 5);
            for (let k = 0; k < 5; k++) expect(dense.distribution[(from + n) * 5 + k]).toBeCloseTo(loop.distribution[n * 5 + k], 5);
          }
        }
      }
    }
  });
});
