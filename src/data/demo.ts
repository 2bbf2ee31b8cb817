/**
 * The built-in demo catalog: a MovieLens-like data set generated from a seed, so `npm start` works offline
 * on an empty database and nothing licensed is redistributed. Ratings come from the latent model of
 * synthetic.ts (genre tastes, latent factors, item quality, long-tailed popularity and activity); this
 * module adds what a catalog needs around them: titles, years, genre names, timestamps.
 */
import { Rng } from '../rng.js';
import { MOVIELENS_GENRES, type CatalogData, type ItemRecord, type TimedRating } from './catalog.js';
import { FIXED_DEMO_TITLES, makeTitle, makeYear } from './demoTitles.js';
import { generateSyntheticWorld } from './synthetic.js';

export { generateSyntheticRatings, type SyntheticOptions } from './synthetic.js';

export interface DemoOptions {
  seed?: number;
  users?: number;
  items?: number;
  ratings?: number;
  halfStars?: boolean;
}

/** The defaults: about MovieLens 100K's size (943 × 1,682 × 100,000). */
export const DEMO_DEFAULTS = { seed: 42, users: 1000, items: 1500, ratings: 100_000, halfStars: false } as const;

// Users joined between these dates (seconds since epoch) and rated over the following months.
const FIRST_SIGNUP = Date.UTC(2000, 0, 1) / 1000;
const LAST_SIGNUP = Date.UTC(2018, 0, 1) / 1000;
const MEAN_DAYS_AFTER_SIGNUP = 30;
const DAY_SECONDS = 86_400;

/**
 * A demo catalog, shaped like readMovieLensFolder's result (layout 'demo'). The same options always give
 * the same catalog. Its `source` names the options, so re-seeding with the same ones is a no-op import.
 */
export function generateDemoCatalog(options: DemoOptions = {}): CatalogData {
  const settings = { ...DEMO_DEFAULTS, ...definedOnly(options) };
  const world = generateSyntheticWorld(settings);
  // Titles and times from their own stream, so they never shift the ratings drawn for a seed.
  const rng = new Rng((settings.seed ^ 0x5bd1e995) >>> 0);

  const items: ItemRecord[] = [];
  const usedTitles = new Set<string>();
  world.itemGenres.forEach((genreIndices, i) => {
    const genres = genreIndices.map((g) => MOVIELENS_GENRES[g]);
    const year = makeYear(rng);
    const base = i < FIXED_DEMO_TITLES.length ? FIXED_DEMO_TITLES[i] : makeTitle(rng, genres[0]);
    items.push({ itemId: i + 1, title: uniqueTitle(base, year, usedTitles), year, genres });
  });

  const ratings: TimedRating[] = new Array(world.users.length);
  let signup = 0;
  for (let r = 0; r < world.users.length; r++) {
    const u = world.users[r];
    if (r === 0 || world.users[r - 1] !== u) signup = FIRST_SIGNUP + rng.int(LAST_SIGNUP - FIRST_SIGNUP);
    const item = items[world.items[r]];
    // Nobody rates a film before its release year.
    const released = Date.UTC(item.year ?? 1970, 0, 1) / 1000;
    const afterSignup = Math.floor(-Math.log(1 - rng.next()) * MEAN_DAYS_AFTER_SIGNUP * DAY_SECONDS);
    ratings[r] = {
      userId: u + 1,
      itemId: item.itemId,
      value: world.ratingLevels[world.levels[r]],
      timestamp: Math.max(signup + afterSignup, released + rng.int(365 * DAY_SECONDS)),
    };
  }

  const { seed, users, items: itemCount, ratings: ratingCount, halfStars } = settings;
  return {
    layout: 'demo',
    source: `demo:seed=${seed},users=${users},items=${itemCount},ratings=${ratingCount}${halfStars ? ',halfStars' : ''}`,
    items,
    ratings,
    ratingLevels: world.ratingLevels,
    skipped: [],
  };
}

/** "Title (year)", made unique by a sequel number when the word lists repeat themselves. */
function uniqueTitle(base: string, year: number, used: Set<string>): string {
  let title = `${base} (${year})`;
  for (let sequel = 2; used.has(title); sequel++) title = `${base} ${sequel} (${year})`;
  used.add(title);
  return title;
}

function definedOnly(options: DemoOptions): DemoOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
