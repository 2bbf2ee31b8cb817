/**
 * Evaluation splits as explicit objects (LensKit's idea): each fold names its training and test ratings
 * over one shared Dataset, so every model compared sees exactly the same folds.
 *
 * All splits return ratings in data-set order within each part, and are functions of (data, seed) alone.
 */
import { datasetFromTriples, subsetRatings, type Dataset, type RatingTriple } from '../data/dataset.js';
import { Rng } from '../rng.js';

export interface Fold {
  name: string;
  train: Dataset;
  test: Dataset;
}

/** Seeded random partition of all ratings into k parts; fold f tests on part f (Surprise's KFold). */
export function kFold(ds: Dataset, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`--kfold must be an integer ≥ 2, got ${k}`);
  const n = ds.levels.length;
  if (k > n) throw new RangeError(`--kfold ${k} needs at least ${k} ratings, the data has ${n}`);
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  new Rng(seed).shuffle(order);
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const from = Math.floor((f * n) / k);
    const to = Math.floor(((f + 1) * n) / k);
    const test = order.slice(from, to).sort();
    const train = Int32Array.from([...order.subarray(0, from), ...order.subarray(to)]).sort();
    folds.push({ name: `fold${f + 1}`, train: subsetRatings(ds, train), test: subsetRatings(ds, test) });
  }
  return folds;
}

/** Seeded random holdout of a fraction of all ratings. */
export function holdout(ds: Dataset, fraction: number, seed: number): Fold[] {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`--holdout must be a fraction in (0, 1), got ${fraction}`);
  const n = ds.levels.length;
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  new Rng(seed).shuffle(order);
  const nTest = Math.round(fraction * n);
  if (nTest === 0 || nTest === n) throw new RangeError(`--holdout ${fraction} of ${n} ratings leaves an empty training or test part`);
  return [
    {
      name: 'holdout',
      train: subsetRatings(ds, order.slice(nTest).sort()),
      test: subsetRatings(ds, order.slice(0, nTest).sort()),
    },
  ];
}

/**
 * Published splits (ML-100K's u1–u5, ua, ub): the base and test files of each name, indexed over the
 * union of their users and items so that all folds share one id space.
 */
export function publishedFolds(parts: { name: string; base: RatingTriple[]; test: RatingTriple[] }[]): Fold[] {
  const all = parts.flatMap((p) => [...p.base, ...p.test]);
  const userIds = [...new Set(all.map((t) => t.userId))].sort((a, b) => a - b);
  const itemIds = [...new Set(all.map((t) => t.itemId))].sort((a, b) => a - b);
  const ratingLevels = [...new Set(all.map((t) => t.value))].sort((a, b) => a - b);
  return parts.map((p) => ({
    name: p.name,
    train: datasetFromTriples(p.base, { userIds, itemIds, ratingLevels }),
    test: datasetFromTriples(p.test, { userIds, itemIds, ratingLevels }),
  }));
}

/**
 * Rating indices grouped by user: user u owns `order[start[u]] … order[start[u + 1] − 1]`, in data-set
 * order. Counting sort: O(ratings + users).
 */
function ratingsByUser(ds: Dataset): { start: Int32Array; order: Int32Array } {
  const userCount = ds.userIds.length;
  const start = new Int32Array(userCount + 1);
  for (let r = 0; r < ds.users.length; r++) start[ds.users[r] + 1]++;
  for (let u = 0; u < userCount; u++) start[u + 1] += start[u];
  const fill = start.slice(0, userCount);
  const order = new Int32Array(ds.users.length);
  for (let r = 0; r < ds.users.length; r++) order[fill[ds.users[r]]++] = r;
  return { start, order };
}

/**
 * Per-user stratified holdout (Microsoft Recommenders' python_stratified_split): each user's ratings are
 * shuffled with one seeded Rng (users in index order) and the first nTest go to the test part, where
 *
 *   nTest(n) = min(n − 1, max(1, round(testFraction · n)))   for a user with n ≥ 2 ratings
 *
 * (Math.round: halves round up, so with 0.25 a user with 2 ratings tests on 1 and one with 6 on 2). The
 * clamp keeps every user with ≥ 2 ratings in both parts even when the fraction rounds to 0 or n; a user
 * with a single rating keeps it in training (they cannot be in both).
 */
export function userStratified(ds: Dataset, testFraction: number, seed: number): Fold[] {
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`--test-fraction must be a fraction in (0, 1), got ${testFraction}`);
  const rng = new Rng(seed);
  const { start, order } = ratingsByUser(ds);
  const train: number[] = [];
  const test: number[] = [];
  for (let u = 0; u < ds.userIds.length; u++) {
    const mine = order.slice(start[u], start[u + 1]);
    const n = mine.length;
    if (n < 2) {
      for (const r of mine) train.push(r);
      continue;
    }
    rng.shuffle(mine);
    const nTest = Math.min(n - 1, Math.max(1, Math.round(testFraction * n)));
    for (let q = 0; q < n; q++) (q < nTest ? test : train).push(mine[q]);
  }
  if (test.length === 0) throw new RangeError(`--split user-stratified needs a user with at least 2 ratings; the data has none`);
  return [
    {
      name: 'user-stratified',
      train: subsetRatings(ds, Int32Array.from(train).sort()),
      test: subsetRatings(ds, Int32Array.from(test).sort()),
    },
  ];
}

export interface ColdUserOptions {
  /** Share of the users (those with at least one rating) held out entirely, e.g. 0.1. */
  coldFraction: number;
  /** The N of each Given-N protocol: ratings each cold user reveals. */
  given: readonly number[];
  seed: number;
  /** Which N ratings a cold user reveals: a seeded random choice (default) or their earliest N. */
  order?: 'random' | 'time';
  /** Held-out ratings a cold user needs beyond the N revealed to be measured (default 5). */
  minTest?: number;
}

export interface GivenNPart {
  n: number;
  /** The N revealed ratings of every measured cold user: what is folded in at prediction time. */
  revealed: Dataset;
  /** All other ratings of the measured cold users: what is predicted and ranked against. */
  test: Dataset;
  /** Cold users measured at this N (ascending user indices). */
  users: Int32Array;
  /** Cold users skipped at this N because they have fewer than N + minTest ratings (ascending). */
  skipped: Int32Array;
}

export interface ColdUserSplit {
  name: string;
  /** Every rating of the users not held out: what the algorithms train on. */
  train: Dataset;
  /** The held-out (cold) users, ascending: none of their ratings is in `train`. */
  coldUsers: Int32Array;
  /** One part per N, in the order given. */
  given: GivenNPart[];
}

/**
 * Given-N cold users (Breese, Heckerman & Kadie 1998): a seeded share of the users is held out entirely;
 * the algorithms train on the others. For each N, every cold user reveals N ratings and is measured on
 * the rest; a cold user with fewer than N + minTest ratings is skipped and counted.
 *
 * The Rng first shuffles the users (so the cold users depend on the data and seed only, not on the Ns or
 * the order), then, for order 'random', shuffles each cold user's ratings (cold users in index order).
 * Order 'time' sorts them by timestamp (ties: lower item index first) and needs `ds.timestamps`. Each user
 * reveals the first N of that one sequence, so the revealed sets are nested: Given-5 ⊂ Given-10.
 *
 * nCold = round(coldFraction · users with a rating), which must leave at least one user on each side.
 */
export function givenNColdUsers(ds: Dataset, options: ColdUserOptions): ColdUserSplit {
  const { coldFraction, given, seed, order = 'random', minTest = 5 } = options;
  if (!(coldFraction > 0 && coldFraction < 1)) throw new RangeError(`--cold-users must be a fraction in (0, 1), got ${coldFraction}`);
  if (given.length === 0) throw new RangeError('--given needs at least one N, e.g. --given 5,10,20');
  for (const n of given) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--given: each N must be a whole number ≥ 1, got ${n}`);
  }
  if (new Set(given).size !== given.length) throw new RangeError(`--given lists an N twice (${given.join(',')}); expected distinct values`);
  if (!Number.isInteger(minTest) || minTest < 1) throw new RangeError(`minTest must be a whole number ≥ 1, got ${minTest}`);
  if (order !== 'random' && order !== 'time') throw new RangeError(`--given-order must be 'random' or 'time', got '${String(order)}'`);
  const timestamps = ds.timestamps;
  if (order === 'time' && !timestamps) {
    throw new Error(
      '--given-order time needs rating timestamps, and this data set carries none (build it with datasetFromTriples(ratings, { withTimestamps: true }))',
    );
  }

  const rng = new Rng(seed);
  const { start, order: byUser } = ratingsByUser(ds);
  const rated: number[] = [];
  for (let u = 0; u < ds.userIds.length; u++) if (start[u + 1] > start[u]) rated.push(u);
  const nCold = Math.round(coldFraction * rated.length);
  if (nCold < 1 || nCold >= rated.length) {
    throw new RangeError(
      `--cold-users ${coldFraction} of ${rated.length} users with ratings holds out ${nCold}; expected at least one user held out and one left to train on`,
    );
  }
  const shuffled = rng.shuffle(Int32Array.from(rated));
  const coldUsers = shuffled.slice(0, nCold).sort();
  const isCold = new Uint8Array(ds.userIds.length);
  for (const u of coldUsers) isCold[u] = 1;

  // Each cold user's ratings in reveal order.
  const sequence = new Map<number, Int32Array>();
  for (const u of coldUsers) {
    const mine = byUser.slice(start[u], start[u + 1]);
    if (order === 'random') rng.shuffle(mine);
    else {
      const time = timestamps as Float64Array;
      mine.sort((a, b) => time[a] - time[b] || ds.items[a] - ds.items[b] || a - b);
    }
    sequence.set(u, mine);
  }

  const train: number[] = [];
  for (let r = 0; r < ds.users.length; r++) if (!isCold[ds.users[r]]) train.push(r);
  const parts = given.map((n): GivenNPart => {
    const revealed: number[] = [];
    const test: number[] = [];
    const users: number[] = [];
    const skipped: number[] = [];
    for (const u of coldUsers) {
      const mine = sequence.get(u) as Int32Array;
      if (mine.length < n + minTest) {
        skipped.push(u);
        continue;
      }
      users.push(u);
      for (let q = 0; q < mine.length; q++) (q < n ? revealed : test).push(mine[q]);
    }
    return {
      n,
      revealed: subsetRatings(ds, Int32Array.from(revealed).sort()),
      test: subsetRatings(ds, Int32Array.from(test).sort()),
      users: Int32Array.from(users),
      skipped: Int32Array.from(skipped),
    };
  });
  return { name: `cold-users-${coldFraction}`, train: subsetRatings(ds, Int32Array.from(train)), coldUsers, given: parts };
}

/**
 * The data set of a seeded share of its users (with all their ratings), re-indexed over the users and items
 * that remain: round(fraction · users with a rating) users (a fraction that keeps none is refused). It gives a catalog with far fewer
 * users than items from the same ratings (ML-100K at 0.35: 330 users, about 1,500 items), the shape where
 * user-user information is scarce. Splits are made afterwards, from this data set. A function of (data,
 * fraction, seed) alone; timestamps are kept when the data carries them.
 */
export function sampleUsers(ds: Dataset, fraction: number, seed: number): Dataset {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`--users-fraction must be a fraction in (0, 1], got ${fraction}`);
  const { start } = ratingsByUser(ds);
  const rated: number[] = [];
  for (let u = 0; u < ds.userIds.length; u++) if (start[u + 1] > start[u]) rated.push(u);
  const keep = Math.round(fraction * rated.length);
  if (keep < 1)
    throw new RangeError(`--users-fraction ${fraction} of ${rated.length} users with ratings keeps none; expected at least one`);
  const chosen = new Uint8Array(ds.userIds.length);
  for (const u of new Rng(seed).shuffle(Int32Array.from(rated)).subarray(0, keep)) chosen[u] = 1;
  const time = ds.timestamps;
  const triples: (RatingTriple & { timestamp?: number })[] = [];
  for (let r = 0; r < ds.users.length; r++) {
    if (!chosen[ds.users[r]]) continue;
    triples.push({
      userId: ds.userIds[ds.users[r]],
      itemId: ds.itemIds[ds.items[r]],
      value: ds.ratingLevels[ds.levels[r]],
      ...(time ? { timestamp: time[r] } : {}),
    });
  }
  return datasetFromTriples(triples, { ratingLevels: ds.ratingLevels, withTimestamps: time !== undefined });
}
