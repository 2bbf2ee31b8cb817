/**
 * The per-user prediction cache: bounded by bytes, tied to one model snapshot, and keyed by the user's
 * ratings as read for the request, so any change of them (through the API or an import) is seen at once.
 */
import { describe, expect, it } from 'vitest';
import type { ModelSnapshot } from '../../src/serving/modelHolder.js';
import { ScoreCache, ratingsFingerprint } from '../../src/serving/scoreCache.js';
import { request, serveTrainedFixture, SOURCE } from '../server/helpers.js';

const snapshotWithVersion = (versionId: number): ModelSnapshot => ({ versionId }) as ModelSnapshot;
const predictions = (floats: number) => ({
  score: new Float32Array(floats / 2),
  expected: null,
  distribution: new Float32Array(floats / 2),
});

describe('ScoreCache', () => {
  it('evicts the least recently used entries beyond its byte budget', () => {
    const cache = new ScoreCache(3 * 400); // three entries of 100 floats
    const s = snapshotWithVersion(1);
    for (const user of [1, 2, 3]) cache.set(s, user, 'f', predictions(100));
    expect(cache.get(s, 1, 'f')).toBeDefined(); // 1 is now the most recent
    cache.set(s, 4, 'f', predictions(100));
    expect(cache.size).toBe(3);
    expect(cache.get(s, 2, 'f')).toBeUndefined();
    expect(cache.get(s, 1, 'f')).toBeDefined();
  });

  it('misses on another fingerprint, drops everything on a newer snapshot, ignores an older one', () => {
    const cache = new ScoreCache();
    const v1 = snapshotWithVersion(1);
    const v2 = snapshotWithVersion(2);
    cache.set(v1, 1, 'a', predictions(10));
    expect(cache.get(v1, 1, 'b')).toBeUndefined();
    cache.set(v2, 2, 'a', predictions(10));
    expect(cache.get(v1, 1, 'a')).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.set(v1, 3, 'a', predictions(10)); // a request that began before the swap
    expect(cache.get(v2, 3, 'a')).toBeUndefined();
    expect(cache.get(v2, 2, 'a')).toBeDefined();
  });

  it('fingerprints change with any rating value, item, time, count or updatedAt', () => {
    const base = [
      { itemId: 1, value: 4, timestamp: 10 },
      { itemId: 2, value: 3.5, timestamp: 11 },
    ];
    const f = ratingsFingerprint(base, null);
    expect(ratingsFingerprint([...base], null)).toBe(f);
    expect(ratingsFingerprint([base[0], { ...base[1], value: 3 }], null)).not.toBe(f);
    expect(ratingsFingerprint([base[0], { ...base[1], itemId: 3 }], null)).not.toBe(f);
    expect(ratingsFingerprint([base[0], { ...base[1], timestamp: 12 }], null)).not.toBe(f);
    expect(ratingsFingerprint([base[0]], null)).not.toBe(f);
    expect(ratingsFingerprint(base, 5)).not.toBe(f);
  });
});

describe('cached recommendations', () => {
  const served = serveTrainedFixture();

  it('reflects ratings changed by an import (no API write) in the very next request', async () => {
    const first = await request(`${served.app.url}/api/users/6/recommendations?limit=1`);
    const top = first.body.items[0].itemId as number;
    expect((await request(`${served.app.url}/api/users/6/recommendations?limit=1`)).body).toEqual(first.body); // served from the cache
    served.fixture.catalog.importCatalog({
      source: SOURCE,
      layout: 'demo',
      items: [],
      ratings: [{ userId: 6, itemId: top, value: 2, timestamp: 5 }],
      ratingLevels: [1, 2, 3, 4, 5],
    });
    const next = await request(`${served.app.url}/api/users/6/recommendations?limit=1`);
    expect(next.body.items[0].itemId).not.toBe(top);
    const prediction = await request(`${served.app.url}/api/users/6/predictions?items=${top}`);
    expect(prediction.body.predictions[0].actual).toBe(2);
  });
});
