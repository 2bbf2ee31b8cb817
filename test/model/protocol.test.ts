/**
 * The algorithm protocol (model/protocol.ts), promise by promise, for every registered algorithm
 * (LensKit's ScorerTests/TrainingTests mixins, Surprise's loop over its algorithm classes). The suite
 * iterates the registry, so a newly registered algorithm is checked with no test of its own: what fails
 * here is what its author still owes (docs/adding-an-algorithm.md).
 *
 * The data is a small seeded world of two tastes and the settings the smallest the RBMs accept (a few
 * hidden units, two epochs), so the whole suite takes seconds; what is checked is the contract, not accuracy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressRows, type Dataset, type KnownRatings } from '../../src/data/dataset.js';
import {
  ALGORITHMS,
  MODEL_KINDS,
  modelFromState,
  type FitOptions,
  type ModelState,
  type TrainedModel,
  type UserInput,
  type UserScores,
} from '../../src/model/index.js';
import { twoTastes } from '../helpers/twoTastes.js';

const train: Dataset = twoTastes(11, { users: 24, pIn: 0.55, pOut: 0.1 });
/** Every algorithm gets the same command settings; the registry hands each the part it reads. */
const SETTINGS: FitOptions = { seed: 5, hidden: 4, epochs: 2, validationFraction: 0.1, implicit: { hidden: 4, epochs: 2 } };
const K = train.ratingLevels.length;
const I = train.itemIds.length;

function ratingsOf(user: number): KnownRatings {
  const rows = compressRows(train, 'user');
  const s = rows.rowStart[user];
  const e = rows.rowStart[user + 1];
  return { items: rows.colIndex.slice(s, e), levels: rows.levels.slice(s, e) };
}

const none: KnownRatings = { items: new Int32Array(0), levels: new Uint8Array(0) };

/**
 * A block with every sort of user the callers send: stored users as trained, a stored user whose ratings
 * changed (refit), a visitor known by their ratings alone, and a visitor with no ratings at all.
 */
const BLOCK: readonly UserInput[] = [
  { ratings: ratingsOf(0), userIndex: 0 },
  { ratings: ratingsOf(1), userIndex: 1 },
  { ratings: { items: ratingsOf(2).items.slice(1), levels: ratingsOf(2).levels.slice(1) }, userIndex: 2, refit: true },
  { ratings: ratingsOf(3) },
  { ratings: none },
];

/** The float32 values of `a`, for comparisons bit for bit (NaN equals NaN, −0 differs from +0). */
const bits = (a: Float32Array | null): number[] | null => (a ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)) : null);

function expectSameScores(actual: readonly UserScores[], expected: readonly UserScores[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((s, n) => {
    expect(bits(s.score)).toEqual(bits(expected[n].score));
    expect(bits(s.expected)).toEqual(bits(expected[n].expected));
    expect(bits(s.distribution)).toEqual(bits(expected[n].distribution));
  });
}

/** Exact JSON round trip of the metadata (as the store does it); tensors copied. */
function stored(state: ModelState): ModelState {
  const tensors = Object.fromEntries(Object.entries(state.tensors).map(([name, t]) => [name, Float32Array.from(t)]));
  return { meta: JSON.parse(JSON.stringify(state.meta)) as ModelState['meta'], tensors };
}

describe('the registry', () => {
  it('names each algorithm and each stored kind once, and describes every algorithm', () => {
    const names = ALGORITHMS.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    expect(ALGORITHMS.every((a) => a.description.length > 0)).toBe(true);
    const kinds = MODEL_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
  });
});

describe.each(ALGORITHMS.map((a) => [a.name, a] as const))('%s keeps every promise of the protocol', (name, algorithm) => {
  let model: TrainedModel;
  let scores: UserScores[];

  beforeAll(async () => {
    model = await algorithm.fit(train, SETTINGS);
    scores = model.scoreUsers(BLOCK);
  }, 120_000);
  afterAll(() => model?.dispose());

  it('describes the data it was fitted on', () => {
    expect(model.algorithm).toBe(name);
    expect([...model.ratingLevels]).toEqual(train.ratingLevels);
    expect([...model.userIds]).toEqual(train.userIds);
    expect([...model.itemIds]).toEqual(train.itemIds);
  });

  it('scores every item for every user of a block, a user with no ratings included', () => {
    expect(scores).toHaveLength(BLOCK.length);
    for (const s of scores) {
      expect(s.score).toBeInstanceOf(Float32Array);
      expect(s.score).toHaveLength(I);
      expect(s.score.every((v) => !Number.isNaN(v))).toBe(true);
    }
  });

  it('predicts ratings exactly when it says so: a distribution over the levels and its expectation', () => {
    for (const s of scores) {
      if (!model.predictsRatings) {
        expect(s.expected).toBeNull();
        expect(s.distribution).toBeNull();
        continue;
      }
      expect(s.expected).toHaveLength(I);
      expect(s.distribution).toHaveLength(I * K);
      for (let i = 0; i < I; i++) {
        let mass = 0;
        let mean = 0;
        for (let k = 0; k < K; k++) {
          const p = s.distribution![i * K + k];
          expect(p).toBeGreaterThanOrEqual(0);
          mass += p;
          mean += p * train.ratingLevels[k];
        }
        expect(mass).toBeCloseTo(1, 4);
        expect(s.expected![i]).toBeCloseTo(mean, 3);
        expect(s.expected![i]).toBeGreaterThanOrEqual(train.ratingLevels[0] - 1e-4);
        expect(s.expected![i]).toBeLessThanOrEqual(train.ratingLevels[K - 1] + 1e-4);
      }
    }
  });

  it('gives each user the same numbers alone as in a block, and leaves the input as it was', () => {
    const copies = BLOCK.map((u) => ({ items: u.ratings.items.slice(), levels: u.ratings.levels.slice() }));
    const alone = BLOCK.flatMap((u) => model.scoreUsers([u]));
    expectSameScores(alone, scores);
    BLOCK.forEach((u, n) => {
      expect(Array.from(u.ratings.items)).toEqual(Array.from(copies[n].items));
      expect(Array.from(u.ratings.levels)).toEqual(Array.from(copies[n].levels));
    });
  });

  it('scores the same again (scoring is pure)', () => {
    expectSameScores(model.scoreUsers(BLOCK), scores);
  });

  it('is saved under a registered kind, and comes back from its stored state with identical numbers', () => {
    const state = model.toState();
    expect(MODEL_KINDS.map((k) => k.kind)).toContain(state.meta.kind);
    expect(state.meta.algorithm).toBe(name);
    for (const [tensorName, t] of Object.entries(state.tensors)) {
      expect(t, `tensor ${tensorName}`).toBeInstanceOf(Float32Array);
    }
    const loaded = modelFromState(stored(state));
    try {
      expect(loaded.algorithm).toBe(name);
      expect(loaded.predictsRatings).toBe(model.predictsRatings);
      expectSameScores(loaded.scoreUsers(BLOCK), scores);
      const again = loaded.toState();
      expect(JSON.parse(JSON.stringify(again.meta))).toEqual(JSON.parse(JSON.stringify(state.meta)));
      expect(Object.keys(again.tensors).sort()).toEqual(Object.keys(state.tensors).sort());
      for (const key of Object.keys(state.tensors)) expect(bits(again.tensors[key])).toEqual(bits(state.tensors[key]));
    } finally {
      loaded.dispose();
    }
  });

  it('is reproducible: the same data and settings fit the same model', async () => {
    const twin = await algorithm.fit(train, SETTINGS);
    try {
      expectSameScores(twin.scoreUsers(BLOCK), scores);
    } finally {
      twin.dispose();
    }
  }, 120_000);

  it('bounds every score from above, and scores chosen items exactly as it scores them all (scoreBounds, when offered)', () => {
    if (!model.scoreBounds) return;
    const bounded = model.scoreBounds(BLOCK);
    expect(bounded).toHaveLength(BLOCK.length);
    // Every item, backwards, then a few again: row q belongs to the q-th item asked for.
    const asked = Int32Array.from([...Array.from({ length: I }, (_, q) => I - 1 - q), 0, 3, 3]);
    bounded.forEach((user, n) => {
      const full = scores[n];
      user.withBound((bound) => {
        expect(bound).toHaveLength(I);
        for (let i = 0; i < I; i++) {
          if (Number.isNaN(bound[i])) expect(full.score[i]).toBeNaN();
          else expect(bound[i]).toBeGreaterThanOrEqual(full.score[i]);
        }
      });
      const part = user.scoreItems(asked);
      const rows = (values: Float32Array | null, width: number): Float32Array | null =>
        values ? Float32Array.from(Array.from(asked).flatMap((i) => Array.from(values.subarray(i * width, (i + 1) * width)))) : null;
      expect(bits(part.score)).toEqual(bits(rows(full.score, 1)));
      expect(bits(part.expected)).toEqual(bits(rows(full.expected, 1)));
      expect(bits(part.distribution)).toEqual(bits(rows(full.distribution, K)));
    });
  });

  it('explains a score by ratings that raised it, and explaining changes nothing (explain, when offered)', () => {
    if (!model.explain) return;
    const items = [0, 5, 21, I - 1];
    for (const user of BLOCK) {
      const max = 3;
      const influences = model.explain(user, items, max);
      expect(influences).toHaveLength(items.length);
      for (const list of influences) {
        expect(list.length).toBeLessThanOrEqual(max);
        list.forEach((x, n) => {
          expect(Number.isInteger(x.rating) && x.rating >= 0 && x.rating < user.ratings.items.length).toBe(true);
          expect(x.influence).toBeGreaterThan(0);
          if (n > 0) expect(x.influence).toBeLessThanOrEqual(list[n - 1].influence);
        });
        if (user.ratings.items.length === 0) expect(list).toEqual([]);
      }
    }
    expectSameScores(model.scoreUsers(BLOCK), scores);
  });

  it('can be disposed of twice', () => {
    const loaded = modelFromState(stored(model.toState()));
    loaded.dispose();
    expect(() => loaded.dispose()).not.toThrow();
  });
});
