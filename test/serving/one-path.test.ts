/**
 * One serving path: after a stored user posts a rating (so their item-RBM unit is refitted), the API's
 * recommendations and predictions, `score --top` and `score --pairs` give the same items and the same
 * values for that user; and a visitor's recommendations from the API equal the serving module's for the
 * same ratings. The model is a real RBM blend (both orientations weighted), not a baseline.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScoreArgs, runScore } from '../../src/cli/scoreCommand.js';
import { modelFromState } from '../../src/model/index.js';
import { RbmBlendModel } from '../../src/model/rbmBlend.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';
import { initBackend } from '../../src/rbm/backend.js';
import { buildSnapshot } from '../../src/serving/modelHolder.js';
import { ServingService } from '../../src/serving/service.js';
import { createFixture, ITEMS, request, startApp, type Fixture, type RunningApp } from '../server/helpers.js';

let fixture: Fixture;
let app: RunningApp;
const readCsv = (file: string): string[][] => Papa.parse<string[]>(readFileSync(file, 'utf8').trim()).data;

beforeAll(async () => {
  await initBackend();
  fixture = createFixture();
  const { model } = await fitRbmBlend(
    fixture.catalog.loadDataset(),
    { hidden: 6, epochs: 4, seed: 0, validationFraction: 0.1 },
    { parallel: false },
  );
  // Weight every component, whatever the tiny validation slice preferred, so each one is on the path.
  const blend = new RbmBlendModel({ ...model.parts, mixture: { user: 0.4, item: 0.4, bias: 0.2 } });
  const state = blend.toState();
  fixture.models.saveVersion(state.meta, state.tensors);
  app = await startApp(fixture);
});

afterAll(async () => {
  await app.close();
  fixture.cleanup();
});

function score(args: string[], out: string) {
  const command = parseScoreArgs(['--db', fixture.dbPath, '--out', out, ...args]);
  if (command === 'help') throw new Error('unexpected help');
  return runScore(command);
}

describe('the API and the batch scorer give the same answer', () => {
  it('for a stored user who rated something after training (recommendations, predictions, --top, --pairs)', async () => {
    const userId = 1;
    const posted = await request(`${app.url}/api/users/${userId}/ratings`, {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: 30, rating: 1 },
    });
    expect(posted.status).toBe(201);
    // Make sure the stored rating is newer than the model (the refit path), whatever the clock's resolution.
    expect(fixture.catalog.getUser(userId)!.updatedAt).toBeGreaterThanOrEqual(app.holder.snapshot!.createdAt);

    const api = (await request(`${app.url}/api/users/${userId}/recommendations?limit=${ITEMS}`)).body.items as {
      itemId: number;
      predicted: number;
      score: number;
    }[];
    expect(api.length).toBeGreaterThan(5);

    const topOut = path.join(fixture.dir, 'one-path-top.csv');
    await score(['--top', String(ITEMS), '--users', String(userId)], topOut);
    const top = readCsv(topOut).slice(1);
    expect(top.map((r) => Number(r[2]))).toEqual(api.map((i) => i.itemId));
    expect(top.map((r) => Number(r[3]))).toEqual(api.map((i) => i.predicted));
    expect(top.map((r) => Number(r[4]))).toEqual(api.map((i) => i.score));

    const itemIds = api.map((i) => i.itemId);
    const predictions = (await request(`${app.url}/api/users/${userId}/predictions?items=${itemIds.join(',')}`)).body.predictions as {
      itemId: number;
      predicted: number;
    }[];
    expect(predictions.map((p) => p.predicted)).toEqual(api.map((i) => i.predicted));

    const pairsIn = path.join(fixture.dir, 'one-path-pairs.csv');
    const pairsOut = path.join(fixture.dir, 'one-path-scored.csv');
    writeFileSync(pairsIn, ['userId,itemId', ...itemIds.map((id) => `${userId},${id}`)].join('\n'));
    await score(['--pairs', pairsIn], pairsOut);
    expect(
      readCsv(pairsOut)
        .slice(1)
        .map((r) => Number(r[2])),
    ).toEqual(api.map((i) => i.predicted));
  });

  it('for a visitor: POST /api/recommendations equals the serving module on the same ratings', async () => {
    const ratings = [
      { itemId: 3, rating: 5 },
      { itemId: 12, rating: 2 },
      { itemId: 21, rating: 4 },
    ];
    const api = (await request(`${app.url}/api/recommendations`, { method: 'POST', json: { ratings, limit: 10 } })).body.items;
    const id = fixture.models.currentId()!;
    const snapshot = buildSnapshot(fixture.models.load(id), fixture.catalog, modelFromState);
    const direct = new ServingService(fixture.catalog).recommendForVisitor(snapshot, ratings, { limit: 10 });
    snapshot.model.dispose();
    expect(api).toEqual(direct);
    expect(api.map((i: { itemId: number }) => i.itemId)).not.toContain(3);
  });
});
