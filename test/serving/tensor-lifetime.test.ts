/**
 * One owner for the tfjs tensors of a model version: they are created once per version (on first use)
 * and freed when the holder swaps the version out, so hot swaps never grow tf.memory().numTensors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFromState, type ModelMeta, type ModelState } from '../../src/model/index.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';
import { WatchLikeModel } from '../../src/model/watchLike.js';
import { initBackend, tf } from '../../src/rbm/backend.js';
import { fitImplicitRbm, likedLevelIndex } from '../../src/rbm/implicit.js';
import { ModelHolder } from '../../src/serving/modelHolder.js';
import { ServingService } from '../../src/serving/service.js';
import { createFixture, type Fixture } from '../server/helpers.js';

let fixture: Fixture;
let state: ModelState<ModelMeta>;

beforeAll(async () => {
  await initBackend();
  fixture = createFixture();
  const train = fixture.catalog.loadDataset();
  const { model: blend } = await fitRbmBlend(train, { hidden: 4, epochs: 2, seed: 0, validationFraction: 0.1 }, { parallel: false });
  const implicit = await fitImplicitRbm(train, { hidden: 4, epochs: 2, seed: 0 });
  const model = new WatchLikeModel(blend, implicit, likedLevelIndex(train.ratingLevels));
  state = model.toState();
  model.dispose();
});

afterAll(() => fixture.cleanup());

describe('tensors per model version', () => {
  it('are created once per served version and freed at the swap', () => {
    const holder = new ModelHolder({ models: fixture.models, catalog: fixture.catalog, fromState: modelFromState, pollMs: 0 });
    const serving = new ServingService(fixture.catalog);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    for (let swap = 0; swap < 4; swap++) {
      fixture.models.saveVersion(state.meta, state.tensors);
      expect(holder.refresh()).toBe(true);
      const snapshot = holder.require();
      // Two requests on the same version: the second reuses the tensors the first created. (A list by
      // predicted rating scores every item with the dense products; one by score takes the pruned top-k,
      // whose bound needs no tensor.)
      serving.recommendForVisitor(snapshot, [{ itemId: 1, rating: 5 }], { limit: 5, rankBy: 'predicted' });
      serving.recommendForVisitor(snapshot, [{ itemId: 1, rating: 5 }], { limit: 5 });
      const afterFirst = tf.memory().numTensors;
      serving.recommendForVisitor(snapshot, [{ itemId: 2, rating: 4 }], { limit: 5, rankBy: 'predicted' });
      serving.recommendForVisitor(snapshot, [{ itemId: 2, rating: 4 }], { limit: 5 });
      expect(tf.memory().numTensors).toBe(afterFirst);
      counts.push(afterFirst);
    }
    expect(new Set(counts).size).toBe(1);
    expect(counts[0]).toBeGreaterThan(before); // the served version does hold tensors…
    holder.close();
    expect(tf.memory().numTensors).toBe(before); // …and retiring it frees every one
  });
});
