/** The bias baseline fitted in a worker thread (the blend's final baseline at scale) is fitBiasModel's, bit for bit. */
import { describe, expect, it } from 'vitest';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { fitBiasModel } from '../../src/model/bias.js';
import { fitBiasModelInWorker } from '../../src/model/biasWorker.js';

describe('fitBiasModelInWorker', () => {
  it('gives the same model as fitBiasModel on this thread', async () => {
    const ds = generateSyntheticRatings({ seed: 3, users: 300, items: 120, ratings: 6000 });
    const here = fitBiasModel(ds);
    const there = await fitBiasModelInWorker(ds);
    expect(there.globalMean).toBe(here.globalMean);
    expect(Array.from(there.userBias)).toEqual(Array.from(here.userBias));
    expect(Array.from(there.itemBias)).toEqual(Array.from(here.itemBias));
    expect(there.options).toEqual(here.options);
    expect(there.userIds).toEqual(here.userIds);
    expect(there.training).toEqual(here.training);
  });
});
