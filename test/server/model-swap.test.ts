/**
 * Model swap: a version saved by another writer (as `npm run train` does from its own process) is picked
 * up by the running server's poll, and every request is answered by one whole model.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitBiasModel } from '../../src/model/bias.js';
import { buildSnapshot } from '../../src/serving/modelHolder.js';
import { ModelStore } from '../../src/store/index.js';
import { modelFromState, type ModelMeta } from '../../src/model/index.js';
import { openDatabase } from '../../src/store/index.js';
import { createFixture, eventually, request, startApp, type Fixture, type RunningApp } from './helpers.js';

let fixture: Fixture;
let app: RunningApp;

beforeEach(async () => {
  fixture = createFixture();
  fixture.trainAndSave();
  app = await startApp(fixture, { pollMs: 20 });
});

afterEach(async () => {
  await app.close();
  fixture.cleanup();
});

const servedVersion = async (): Promise<number> => (await request(`${app.url}/api/health`)).body.model.version as number;

describe('model swap', () => {
  it('serves a version saved by another connection within a few polls, without a restart', async () => {
    const first = await servedVersion();
    const before = (await request(`${app.url}/api/users/4/predictions?items=10`)).body.predictions[0].predicted as number;

    // Another connection to the same file, as the trainer process would have.
    const trainerDb = openDatabase(fixture.dbPath);
    const state = fitBiasModel(fixture.catalog.loadDataset(), { regUser: 0.5, regItem: 0.5 }).toState();
    const second = new ModelStore<ModelMeta>(trainerDb).saveVersion(state.meta, state.tensors);
    trainerDb.close();
    expect(second).not.toBe(first);

    await eventually(async () => (await servedVersion()) === second);
    expect((await request(`${app.url}/api/model`)).body).toMatchObject({ version: second, hyperparameters: { regUser: 0.5 } });
    const after = (await request(`${app.url}/api/users/4/predictions?items=10`)).body.predictions[0].predicted as number;
    expect(after).not.toBe(before);
    expect(app.logs.some((l) => l.includes(`serving model version ${second}`) && l.includes(`replacing version ${first}`))).toBe(true);
  });

  it('answers every request with one whole model while versions keep changing', async () => {
    const dataset = fixture.catalog.loadDataset();
    const models = [fitBiasModel(dataset), fitBiasModel(dataset, { regUser: 0.5, regItem: 0.5 })];
    // What each model predicts for (user 4, items 1…6), computed offline through the same snapshot code.
    const expected = models.map((m) => {
      const snapshot = buildSnapshot({ id: 0, createdAt: Date.now(), ...m.toState() }, fixture.catalog, modelFromState);
      const [scores] = m.scoreUsers([
        { ratings: { items: new Int32Array(0), levels: new Uint8Array(0) }, userIndex: snapshot.userIndex.get(4) },
      ]);
      return [1, 2, 3, 4, 5, 6].map((id) => Math.round(scores.expected![snapshot.itemIndex.get(id)!] * 1e4) / 1e4);
    });
    expect(expected[0]).not.toEqual(expected[1]);

    let saving = true;
    const saver = (async () => {
      for (let n = 0; saving && n < 40; n++) {
        const state = models[n % 2].toState();
        fixture.models.saveVersion(state.meta, state.tensors);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const answers: number[][] = [];
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => request(`${app.url}/api/users/4/predictions?items=1,2,3,4,5,6`)));
      for (const res of batch) answers.push(res.body.predictions.map((p: { predicted: number }) => p.predicted));
    }
    saving = false;
    await saver;
    for (const answer of answers) expect([JSON.stringify(expected[0]), JSON.stringify(expected[1])]).toContain(JSON.stringify(answer));
  });

  it('keeps serving the current model when a newer version cannot be loaded', async () => {
    const first = await servedVersion();
    const broken = fitBiasModel(fixture.catalog.loadDataset()).toState();
    broken.meta.itemIds = broken.meta.itemIds.slice(1); // meta disagrees with the tensors
    const brokenId = fixture.models.saveVersion(broken.meta, broken.tensors);
    await eventually(async () => app.logs.some((l) => l.includes(`model version ${brokenId} could not be loaded`)));
    expect(await servedVersion()).toBe(first);
    expect((await request(`${app.url}/api/users/4/recommendations`)).status).toBe(200);

    const fixed = fixture.trainAndSave();
    await eventually(async () => (await servedVersion()) === fixed);
  });

  it('builds each snapshot frozen, so no request can see it change', () => {
    const snapshot = app.holder.snapshot!;
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.itemRecords)).toBe(true);
  });
});
