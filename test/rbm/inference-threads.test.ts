/**
 * The engine's inference on its training threads (the validation pass each epoch and the item RBM's hidden
 * features after training: wasm parallelRows): the same numbers as the JS inference of params.ts
 * (expectationsOfRows, hiddenOfRows) bit for bit, at any thread count, for every row or a subset.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { WASM_OUTPUT } from '../../scripts/build-wasm.js';
import { compressRows, subsetRatings } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { validationSplit } from '../../src/model/rbmFit.js';
import { JsCdEngine, WasmCdEngine, wasmKernelsAvailable, type CdEngineOptions } from '../../src/rbm/cdEngine.js';
import { cloneParams, expectationsOfRows, hiddenOfRows, initParams } from '../../src/rbm/params.js';
import { visibleLevelCounts } from '../../src/rbm/train.js';
import { Rng } from '../../src/rng.js';

const ds = generateSyntheticRatings({ seed: 8, users: 70, items: 45, ratings: 1100 });
const split = validationSplit(ds.levels.length, 0.15, 1);
const fitSet = subsetRatings(ds, split.fit);
const valSet = subsetRatings(ds, split.validation);
const options: CdEngineOptions = { lr: 0.1, momentum: 0.5, weightDecay: 0.001, batchSize: 6, persistent: false, meanField: true };

describe.skipIf(!wasmKernelsAvailable().ok)('inference on the training threads', () => {
  it('uses V8’s exp, bit for bit (fdlibm), so that σ and the softmax match the JS code', async () => {
    const module = new WebAssembly.Module(await readFile(WASM_OUTPUT));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const { jsExp } = new WebAssembly.Instance(module, { env: { memory } }).exports as { jsExp(x: number): number };
    const rng = new Rng(3);
    const xs = [
      0,
      -0,
      1,
      -1,
      0.5 * Math.LN2,
      1.5 * Math.LN2,
      -1.5 * Math.LN2,
      709.78,
      709.79,
      -745.1,
      -745.2,
      1e-9,
      Infinity,
      -Infinity,
      NaN,
    ];
    for (let n = 0; n < 200_000; n++) xs.push((rng.next() - 0.5) * (n % 2 === 0 ? 80 : 3));
    const differing = xs.filter((x) => !Object.is(jsExp(x), Math.exp(x)));
    expect(differing).toEqual([]);
  });

  for (const orientation of ['user', 'item'] as const) {
    it(`predicts the validation slice and computes hidden features as the JS code does (${orientation})`, () => {
      const train = compressRows(fitSet, orientation);
      const validation = compressRows(valSet, orientation);
      const features = compressRows(ds, orientation);
      const K = ds.ratingLevels.length;
      const p = initParams(train.cols, K, 12, visibleLevelCounts(train, K), new Rng(4), 0.4);
      const js = new JsCdEngine(cloneParams(p), train, ds.ratingLevels, options, { validation, features });
      const jsLive = cloneParams(js.params);
      expect(Array.from(js.predictValidation(null))).toEqual(
        Array.from(expectationsOfRows(jsLive, train, validation, ds.ratingLevels, null)),
      );
      expect(Array.from(js.hiddenFeatures())).toEqual(Array.from(hiddenOfRows(jsLive, features)));
      const jsBoth = js.predictValidationAndFeatures();
      expect(Array.from(jsBoth.predictions)).toEqual(Array.from(expectationsOfRows(jsLive, train, validation, ds.ratingLevels, null)));
      expect(Array.from(jsBoth.features)).toEqual(Array.from(hiddenOfRows(jsLive, features)));
      const subset = Int32Array.from({ length: train.rows }, (_, r) => r).filter((r) => r % 3 === 1);
      for (const threads of [1, 2, 3]) {
        const engine = new WasmCdEngine(cloneParams(p), train, ds.ratingLevels, { ...options, threads }, { validation, features });
        const jsRng = new Rng(9);
        const wasmRng = new Rng(9);
        try {
          // After an epoch of training (the weights differ from JS's by float rounding): compare against the
          // JS inference of the engine's own weights.
          const order = Int32Array.from({ length: train.rows }, (_, r) => r);
          engine.trainEpoch(order, 1, wasmRng);
          js.trainEpoch(order, 1, jsRng);
          const live = cloneParams(engine.params);
          // Both from one pass first (nothing in the engine's outputs yet), then each on its own.
          const both = engine.predictValidationAndFeatures();
          expect(Array.from(both.predictions), `${threads} threads, one pass`).toEqual(
            Array.from(expectationsOfRows(live, train, validation, ds.ratingLevels, null)),
          );
          expect(Array.from(both.features)).toEqual(Array.from(hiddenOfRows(live, features)));
          expect(Array.from(engine.predictValidation(null)), `${threads} threads`).toEqual(
            Array.from(expectationsOfRows(live, train, validation, ds.ratingLevels, null)),
          );
          expect(Array.from(engine.predictValidation(subset))).toEqual(
            Array.from(expectationsOfRows(live, train, validation, ds.ratingLevels, subset)),
          );
          expect(Array.from(engine.hiddenFeatures())).toEqual(Array.from(hiddenOfRows(live, features)));
          // Other parameters loaded in (the best epoch's, after training).
          engine.loadParams(p);
          expect(Array.from(engine.predictValidation(null))).toEqual(
            Array.from(expectationsOfRows(p, train, validation, ds.ratingLevels, null)),
          );
          expect(Array.from(engine.hiddenFeatures())).toEqual(Array.from(hiddenOfRows(p, features)));
        } finally {
          engine.close();
        }
      }
    });
  }

  it('computes both in one pass when the training ratings are not in the features’ order (each sum on its own)', () => {
    // The features from the ratings in reverse order: no row's training ratings are a subsequence of them.
    const reversed = { ...ds, users: ds.users.slice().reverse(), items: ds.items.slice().reverse(), levels: ds.levels.slice().reverse() };
    const train = compressRows(fitSet, 'item');
    const validation = compressRows(valSet, 'item');
    const features = compressRows(reversed, 'item');
    const K = ds.ratingLevels.length;
    const p = initParams(train.cols, K, 12, visibleLevelCounts(train, K), new Rng(5), 0.4);
    for (const threads of [1, 2]) {
      const engine = new WasmCdEngine(cloneParams(p), train, ds.ratingLevels, { ...options, threads }, { validation, features });
      try {
        const both = engine.predictValidationAndFeatures();
        expect(Array.from(both.predictions)).toEqual(Array.from(expectationsOfRows(p, train, validation, ds.ratingLevels, null)));
        expect(Array.from(both.features)).toEqual(Array.from(hiddenOfRows(p, features)));
      } finally {
        engine.close();
      }
    }
  });

  it('says which input an engine was created without', () => {
    const train = compressRows(fitSet, 'user');
    const K = ds.ratingLevels.length;
    const p = initParams(train.cols, K, 4, visibleLevelCounts(train, K), new Rng(4), 0.4);
    const engine = new WasmCdEngine(p, train, ds.ratingLevels, options);
    expect(() => engine.predictValidation(null)).toThrow('the CD engine was created without a validation slice');
    expect(() => engine.hiddenFeatures()).toThrow('the CD engine was created without feature cases');
  });
});
