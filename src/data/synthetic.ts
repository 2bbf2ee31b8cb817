/**
 * A seeded latent-factor world that produces MovieLens-like ratings, written straight into typed arrays
 * (no object per rating) so benchmarks can ask for 10M ratings in seconds.
 *
 * The generative model, for user u and item i (G genres, F latent factors):
 *
 *   s(u,i) = μ + b_u + b_i + (1/|G_i|) Σ_{g ∈ G_i} a[u,g] + p_u · q_i + ε,   ε ~ N(0, σ_ε²)
 *   rating = the level nearest s(u,i), clipped to the scale (1…5, or 0.5…5 in half stars)
 *
 *   b_u ~ N(0, 0.35²)      user leniency           b_i ~ N(0, 0.45²)   item quality
 *   a[u,g]                 +0.45 on 1–2 favourite genres, −0.6 on a disliked one, else 0
 *   q_i = mean_{g ∈ G_i} e_g + N(0, 0.45²)·1       item factors pulled towards its genres' embeddings e_g
 *   p_u ~ N(0, 0.55²)·1    user factors
 *
 * Which items a user rates follows popularity, long-tailed and tied to quality:
 *   P(i) ∝ w_i = exp(1.3 z_i + 0.6 b_i / 0.45),  z_i ~ N(0, 1)
 * and how many (n_u) follows a long-tailed activity with every user rating at least MIN_RATINGS_PER_USER
 * (as in MovieLens), the counts summing exactly to the requested number of ratings.
 * Items a user rates are distinct: no (user, item) pair occurs twice.
 */
import { Rng } from '../rng.js';
import { MOVIELENS_GENRES } from './catalog.js';
import type { Dataset } from './dataset.js';

export interface SyntheticOptions {
  seed: number;
  users: number;
  items: number;
  ratings: number;
  /** Half-star scale 0.5, 1, …, 5 (K = 10) instead of 1…5 (K = 5). */
  halfStars?: boolean;
}

/** The world behind the ratings: enough for the demo catalog to give items genres and titles. */
export interface SyntheticWorld {
  ratingLevels: number[];
  /** Per rating: user index, item index, level index (ratings of a user are contiguous). */
  users: Int32Array;
  items: Int32Array;
  levels: Uint8Array;
  /** Per item: indices into MOVIELENS_GENRES, primary genre first. */
  itemGenres: number[][];
  /** Per item: relative popularity weight w_i. */
  itemPopularity: Float64Array;
}

export const MIN_RATINGS_PER_USER = 20;
const MAX_SHARE_OF_ITEMS = 0.45;
const FACTORS = 5;
const MEAN_RATING = 3.55;
const NOISE_SD = 0.45;

/**
 * How often each genre occurs among movies (MovieLens 100K's genre counts), so the catalog has many
 * dramas and comedies and few film-noirs, like the real one. Same order as MOVIELENS_GENRES.
 */
const GENRE_FREQUENCY = [251, 135, 42, 122, 505, 109, 50, 725, 22, 24, 92, 56, 61, 247, 101, 251, 71, 27];

export const INTEGER_LEVELS: readonly number[] = [1, 2, 3, 4, 5];
export const HALF_STAR_LEVELS: readonly number[] = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5];

/** Ratings of the latent world as a Dataset: users 1…users, items 1…items as external ids. */
export function generateSyntheticRatings(options: SyntheticOptions): Dataset {
  const world = generateSyntheticWorld(options);
  return {
    ratingLevels: world.ratingLevels,
    userIds: Array.from({ length: options.users }, (_, u) => u + 1),
    itemIds: Array.from({ length: options.items }, (_, i) => i + 1),
    users: world.users,
    items: world.items,
    levels: world.levels,
  };
}

export function generateSyntheticWorld(options: SyntheticOptions): SyntheticWorld {
  const { users: userCount, items: itemCount, ratings: ratingCount } = options;
  validateSize(options);
  const rng = new Rng(options.seed);
  const ratingLevels = [...(options.halfStars ? HALF_STAR_LEVELS : INTEGER_LEVELS)];
  const G = MOVIELENS_GENRES.length;

  // Genre embeddings e_g: genres share taste directions (a thriller fan leans towards crime too).
  const genreEmbedding = new Float64Array(G * FACTORS);
  for (let j = 0; j < genreEmbedding.length; j++) genreEmbedding[j] = 0.6 * rng.normal();

  // Items: genres, quality b_i, factors q_i, popularity w_i.
  const itemGenres: number[][] = [];
  const itemBias = new Float64Array(itemCount);
  const itemFactors = new Float64Array(itemCount * FACTORS);
  const itemPopularity = new Float64Array(itemCount);
  const genrePicker = cumulative(GENRE_FREQUENCY);
  for (let i = 0; i < itemCount; i++) {
    const genreCount = pickGenreCount(rng);
    const genres: number[] = [];
    while (genres.length < genreCount) {
      const g = sampleCumulative(genrePicker, rng.next());
      if (!genres.includes(g)) genres.push(g);
    }
    itemGenres.push(genres);
    itemBias[i] = 0.45 * rng.normal();
    for (let f = 0; f < FACTORS; f++) {
      let pull = 0;
      for (const g of genres) pull += genreEmbedding[g * FACTORS + f];
      itemFactors[i * FACTORS + f] = pull / genres.length + 0.45 * rng.normal();
    }
    itemPopularity[i] = Math.exp(1.3 * rng.normal() + (0.6 * itemBias[i]) / 0.45);
  }

  const perUser = ratingsPerUser(rng, userCount, itemCount, ratingCount);
  const { users, items, levels } = drawRatings(rng, {
    perUser,
    itemGenres: flattenGenres(itemGenres),
    itemBias,
    itemFactors,
    itemPopularity,
    ratingLevels,
    halfStars: options.halfStars === true,
  });
  return { ratingLevels, users, items, levels, itemGenres, itemPopularity };
}

interface ItemGenreIndex {
  /** Genres of item i: genreList[genreStart[i] .. genreStart[i+1]). */
  genreStart: Int32Array;
  genreList: Uint8Array;
}

function flattenGenres(itemGenres: number[][]): ItemGenreIndex {
  const genreStart = new Int32Array(itemGenres.length + 1);
  itemGenres.forEach((genres, i) => (genreStart[i + 1] = genreStart[i] + genres.length));
  const genreList = new Uint8Array(genreStart[itemGenres.length]);
  itemGenres.forEach((genres, i) => genreList.set(genres, genreStart[i]));
  return { genreStart, genreList };
}

/**
 * The hot loop, kept apart and on flat typed arrays so V8 optimises it as one tight function: for each
 * user, draw b_u, p_u and genre affinities, choose the items, and score each with s(u,i) (see top).
 */
function drawRatings(
  rng: Rng,
  world: {
    perUser: Int32Array;
    itemGenres: ItemGenreIndex;
    itemBias: Float64Array;
    itemFactors: Float64Array;
    itemPopularity: Float64Array;
    ratingLevels: number[];
    halfStars: boolean;
  },
): { users: Int32Array; items: Int32Array; levels: Uint8Array } {
  const { perUser, itemBias, itemFactors, itemPopularity, ratingLevels } = world;
  const { genreStart, genreList } = world.itemGenres;
  const userCount = perUser.length;
  const itemCount = itemBias.length;
  let ratingCount = 0;
  for (let u = 0; u < userCount; u++) ratingCount += perUser[u];
  const G = MOVIELENS_GENRES.length;
  const sampler = new AliasSampler(itemPopularity);

  const users = new Int32Array(ratingCount);
  const items = new Int32Array(ratingCount);
  const levels = new Uint8Array(ratingCount);
  // chosenBy[i] = u + 1 when user u already rated item i: a reusable "seen" set without clearing.
  const chosenBy = new Int32Array(itemCount);
  const chosen = new Int32Array(itemCount);
  const affinity = new Float64Array(G);
  const userFactors = new Float64Array(FACTORS);
  const lowest = ratingLevels[0];
  const highest = ratingLevels[ratingLevels.length - 1];
  const step = world.halfStars ? 0.5 : 1;

  let r = 0;
  for (let u = 0; u < userCount; u++) {
    const userBias = 0.35 * rng.normal();
    for (let f = 0; f < FACTORS; f++) userFactors[f] = 0.55 * rng.normal();
    affinity.fill(0);
    const favourites = 1 + rng.int(2);
    for (let k = 0; k < favourites; k++) affinity[rng.int(G)] += 0.45;
    affinity[rng.int(G)] -= 0.6;

    const n = perUser[u];
    chooseItems(rng, n, u + 1, chosenBy, chosen, sampler, itemPopularity);
    for (let c = 0; c < n; c++) {
      const i = chosen[c];
      let genreTerm = 0;
      const g0 = genreStart[i];
      const g1 = genreStart[i + 1];
      for (let g = g0; g < g1; g++) genreTerm += affinity[genreList[g]];
      let interaction = 0;
      const q = i * FACTORS;
      for (let f = 0; f < FACTORS; f++) interaction += userFactors[f] * itemFactors[q + f];
      const score = MEAN_RATING + userBias + itemBias[i] + genreTerm / (g1 - g0) + interaction + NOISE_SD * rng.normal();
      const value = Math.min(highest, Math.max(lowest, Math.round(score / step) * step));
      users[r] = u;
      items[r] = i;
      levels[r] = Math.round((value - lowest) / step);
      r++;
    }
  }
  return { users, items, levels };
}

function validateSize({ users, items, ratings }: SyntheticOptions): void {
  for (const [name, value] of [
    ['users', users],
    ['items', items],
    ['ratings', ratings],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number ≥ 1, got ${value}`);
  }
  if (ratings > users * items) {
    throw new RangeError(
      `cannot draw ${ratings} distinct ratings from ${users} users × ${items} items (at most ${users * items})`,
    );
  }
  if (ratings < users) throw new RangeError(`${ratings} ratings cannot give each of ${users} users at least one`);
}

/** 1 genre half the time, 2 a third, 3 otherwise (MovieLens movies list 1–3 genres mostly). */
function pickGenreCount(rng: Rng): number {
  const x = rng.next();
  return x < 0.5 ? 1 : x < 0.85 ? 2 : 3;
}

/**
 * n_u: at least min(MIN_RATINGS_PER_USER, ratings/users) each, the rest shared by a log-normal activity
 * (a few users rate hundreds of movies), capped at MAX_SHARE_OF_ITEMS of the items, summing exactly to
 * `ratings`.
 */
function ratingsPerUser(rng: Rng, users: number, items: number, ratings: number): Int32Array {
  const floor = Math.min(MIN_RATINGS_PER_USER, Math.floor(ratings / users), items);
  // Nobody rates everything (100K's most active user rated 44% of the movies), unless the requested
  // density leaves no other way.
  const cap = Math.min(items, Math.max(Math.ceil(ratings / users), Math.floor(MAX_SHARE_OF_ITEMS * items)));
  const counts = new Int32Array(users).fill(floor);
  const activity = new Float64Array(users);
  let activityTotal = 0;
  for (let u = 0; u < users; u++) {
    activity[u] = Math.exp(1.1 * rng.normal());
    activityTotal += activity[u];
  }
  let remaining = ratings - floor * users;
  const extra = remaining;
  for (let u = 0; u < users && remaining > 0; u++) {
    const share = Math.min(cap - counts[u], Math.floor((extra * activity[u]) / activityTotal), remaining);
    counts[u] += share;
    remaining -= share;
  }
  // Rounding and the cap leave a remainder: hand it out one by one to the most active users with room.
  if (remaining > 0) {
    const byActivity = Array.from({ length: users }, (_, u) => u).sort((a, b) => activity[b] - activity[a]);
    while (remaining > 0) {
      for (const u of byActivity) {
        if (remaining === 0) break;
        if (counts[u] < cap) {
          counts[u]++;
          remaining--;
        }
      }
    }
  }
  return counts;
}

/**
 * Fills chosen[0..n) with n distinct items drawn by popularity without replacement. Light users: draw and
 * reject repeats (cheap while the user has seen little of the popularity mass). Heavy users, or when
 * rejections pile up: Efraimidis–Spirakis, keys −ln(U)/w_i, taking the n smallest among unseen items.
 */
function chooseItems(
  rng: Rng,
  n: number,
  stamp: number,
  chosenBy: Int32Array,
  chosen: Int32Array,
  sampler: AliasSampler,
  weights: Float64Array,
): void {
  const itemCount = weights.length;
  let count = 0;
  if (n <= itemCount / 4) {
    let budget = 64 * n;
    while (count < n && budget-- > 0) {
      const i = sampler.sample(rng);
      if (chosenBy[i] === stamp) continue;
      chosenBy[i] = stamp;
      chosen[count++] = i;
    }
  }
  if (count === n) return;
  const candidates: number[] = [];
  const keys = new Float64Array(itemCount);
  for (let i = 0; i < itemCount; i++) {
    if (chosenBy[i] === stamp) continue;
    let x = rng.next();
    while (x === 0) x = rng.next();
    keys[i] = -Math.log(x) / weights[i];
    candidates.push(i);
  }
  candidates.sort((a, b) => keys[a] - keys[b] || a - b);
  for (let c = 0; count < n; c++) {
    const i = candidates[c];
    chosenBy[i] = stamp;
    chosen[count++] = i;
  }
}

/**
 * Walker's alias method: O(1) draws from a fixed discrete distribution (one uniform index, one coin),
 * which matters when drawing ten million ratings.
 */
class AliasSampler {
  private readonly probability: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.probability = new Float64Array(n);
    this.alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      (scaled[i] < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop() as number;
      const l = large.pop() as number;
      this.probability[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] -= 1 - scaled[s];
      (scaled[l] < 1 ? small : large).push(l);
    }
    // Leftovers are 1 up to rounding.
    for (const i of [...small, ...large]) {
      this.probability[i] = 1;
      this.alias[i] = i;
    }
  }

  sample(rng: Rng): number {
    const x = rng.next() * this.probability.length;
    const i = Math.floor(x);
    return x - i < this.probability[i] ? i : this.alias[i];
  }
}

/** Running sums of `weights`, normalised to end at 1. */
function cumulative(weights: ArrayLike<number>): Float64Array {
  const cdf = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    total += weights[i];
    cdf[i] = total;
  }
  for (let i = 0; i < cdf.length; i++) cdf[i] /= total;
  return cdf;
}

/** The first index whose cumulative weight exceeds x ∈ [0, 1): binary search. */
function sampleCumulative(cdf: Float64Array, x: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
