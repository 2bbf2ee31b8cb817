/**
 * Made-up movie titles for the demo catalog, in MovieLens' style: year in parentheses, a leading article
 * moved to the end ("Silent Harbor, The (1987)"), now and then a foreign title with accents so that
 * accent-insensitive search has something to find. Words lean on the movie's main genre.
 */
import type { Rng } from '../rng.js';

const ADJECTIVES = [
  'Silent', 'Crimson', 'Last', 'Broken', 'Golden', 'Hidden', 'Distant', 'Frozen', 'Burning', 'Lonely',
  'Midnight', 'Electric', 'Savage', 'Velvet', 'Hollow', 'Wild', 'Quiet', 'Iron', 'Paper', 'Glass',
  'Restless', 'Endless', 'Forgotten', 'Secret', 'Northern', 'Bitter', 'Bright', 'Dark', 'Little', 'Lost',
  'Second', 'Perfect', 'Dangerous', 'Sweet', 'Strange', 'Long', 'Final', 'Blue', 'Red', 'Empty',
];

const NOUNS = [
  'Harbor', 'River', 'Summer', 'Kingdom', 'Road', 'Garden', 'Empire', 'Frontier', 'Witness', 'Stranger',
  'Promise', 'Horizon', 'Station', 'Island', 'Mirror', 'Signal', 'Valley', 'Orchard', 'Letter', 'Season',
  'Engine', 'Circus', 'Hotel', 'Lantern', 'Voyage', 'Detective', 'Shadow', 'Canyon', 'Bridge', 'Compass',
  'Heist', 'Reunion', 'Alibi', 'Winter', 'Affair', 'Carnival', 'Tide', 'Verdict', 'Passenger', 'Echo',
];

/** Words that give a title its genre's colour, by MovieLens genre name. */
const GENRE_NOUNS: Record<string, string[]> = {
  Action: ['Showdown', 'Ambush', 'Getaway', 'Vendetta'],
  Adventure: ['Expedition', 'Treasure', 'Quest', 'Temple'],
  Animation: ['Dragon', 'Robot', 'Balloon', 'Toy'],
  "Children's": ['Puppy', 'Treehouse', 'Toy', 'Giant'],
  Comedy: ['Wedding', 'Roommates', 'Vacation', 'Mix-Up'],
  Crime: ['Syndicate', 'Racket', 'Getaway', 'Informant'],
  Documentary: ['Chronicle', 'Portrait', 'Journey', 'Archive'],
  Drama: ['Daughter', 'Inheritance', 'Homecoming', 'Confession'],
  Fantasy: ['Sorcerer', 'Crown', 'Enchantress', 'Labyrinth'],
  'Film-Noir': ['Alibi', 'Double-Cross', 'Dame', 'Nightfall'],
  Horror: ['Curse', 'Asylum', 'Haunting', 'Cellar'],
  Musical: ['Melody', 'Ballroom', 'Serenade', 'Jukebox'],
  Mystery: ['Riddle', 'Disappearance', 'Cipher', 'Manor'],
  Romance: ['Kiss', 'Sweetheart', 'Rendezvous', 'Honeymoon'],
  'Sci-Fi': ['Starship', 'Android', 'Nebula', 'Colony'],
  Thriller: ['Target', 'Conspiracy', 'Countdown', 'Pursuit'],
  War: ['Battalion', 'Front', 'Convoy', 'Trenches'],
  Western: ['Outlaw', 'Gunslinger', 'Ranch', 'Stagecoach'],
};

const PLACES = [
  'Mars', 'Casablanca', 'Tangier', 'the North', 'Marseille', 'Brooklyn', 'Avalon', 'the Moon', 'Vienna',
  'Nowhere', 'Saturn', 'Santa Fe', 'Lisbon', 'Havana', 'Kyoto', 'the Desert', 'Glasgow', 'Zürich',
];

const NAMES = ['Harry', 'Lola', 'Max', 'Clara', 'Jonah', 'Vera', 'Ruby', 'Felix', 'Mabel', 'Otto', 'Rosa', 'Hugo'];

/** Foreign titles with their article, as MovieLens files them ("Rêve éternel, Le"). */
const FOREIGN_TITLES = [
  ['Le', 'Rêve éternel'], ['La', 'Mémoire du fleuve'], ['Les', 'Frères de l’été'], ['Le', 'Château d’hiver'],
  ['La', 'Vérité nue'], ['Les', 'Enfants du café'], ['El', 'Último verano'], ['La', 'Canción del río'],
  ['Die', 'Brücke im Nebel'], ['Das', 'Mädchen aus Köln'],
] as const;

/** Titles always present, so "toy" finds something in every demo catalog (the web tests rely on it). */
export const FIXED_DEMO_TITLES = ['Toy Soldiers of Mars', 'Toy Box Detectives'];

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

/** A title without year, MovieLens style, coloured by `genre` when one is given. */
export function makeTitle(rng: Rng, genre: string | undefined): string {
  const genreNouns = genre !== undefined ? GENRE_NOUNS[genre] : undefined;
  const noun = (): string => (genreNouns && rng.next() < 0.5 ? pick(rng, genreNouns) : pick(rng, NOUNS));
  const pattern = rng.int(20);
  if (pattern === 0) {
    const [article, rest] = pick(rng, FOREIGN_TITLES);
    return `${rest}, ${article}`;
  }
  if (pattern <= 5) return `${pick(rng, ADJECTIVES)} ${noun()}`;
  if (pattern <= 9) return `${pick(rng, ADJECTIVES)} ${noun()}, The`;
  if (pattern <= 12) return `${noun()} of ${pick(rng, PLACES)}`;
  if (pattern <= 14) return `${pick(rng, NAMES)}'s ${noun()}`;
  if (pattern <= 16) return `${noun()} in ${pick(rng, PLACES)}, A`;
  if (pattern <= 18) return `${noun()} and the ${noun()}, The`;
  return `${pick(rng, ADJECTIVES)} ${noun()} ${pick(rng, ['2', '3', 'II', 'Returns'])}`;
}

/**
 * A release year: most films recent, a long tail back to the 1920s (as in MovieLens, where the 1990s
 * dominate). Exponential distance back from 2015, mean 14 years.
 */
export function makeYear(rng: Rng): number {
  let x = rng.next();
  while (x === 0) x = rng.next();
  return Math.max(1920, 2015 - Math.floor(-14 * Math.log(x)));
}
