/**
 * The three published MovieLens layouts: which files make each one, and how their lines are shaped.
 * Everything layout-specific that the readers need is here, so adding a layout is one entry.
 */
import type { MovieLensLayout } from './catalog.js';

export interface LayoutFiles {
  ratings: string;
  items: string;
  /** Optional demographics file. */
  users?: string;
  /** 100K only: names of the genre flag columns of u.item. */
  genres?: string;
}

/** Files per layout, in the order detection tries them. */
export const LAYOUT_FILES: Record<MovieLensLayout, LayoutFiles> = {
  '100k': { ratings: 'u.data', items: 'u.item', users: 'u.user', genres: 'u.genre' },
  dat: { ratings: 'ratings.dat', items: 'movies.dat', users: 'users.dat' },
  csv: { ratings: 'ratings.csv', items: 'movies.csv' },
};

export const LAYOUT_NAMES: Record<MovieLensLayout, string> = {
  '100k': 'MovieLens 100K',
  dat: 'MovieLens 1M/10M',
  csv: 'MovieLens latest/20M/25M',
};

/** How one kind of file is delimited. */
export interface LineFormat {
  delimiter: string;
  /** Name of the delimiter in messages: "tab", "'|'", "'::'", "comma". */
  delimiterName: string;
  quoted: boolean;
  /** Expected header row, or null when the file has none. */
  header: readonly string[] | null;
}

export const RATING_FIELDS = ['user id', 'item id', 'rating', 'timestamp'] as const;

export const RATINGS_FORMAT: Record<MovieLensLayout, LineFormat> = {
  '100k': { delimiter: '\t', delimiterName: 'tab', quoted: false, header: null },
  dat: { delimiter: '::', delimiterName: "'::'", quoted: false, header: null },
  csv: {
    delimiter: ',',
    delimiterName: 'comma',
    quoted: true,
    header: ['userId', 'movieId', 'rating', 'timestamp'],
  },
};

export const ITEMS_FORMAT: Record<MovieLensLayout, LineFormat> = {
  '100k': { delimiter: '|', delimiterName: "'|'", quoted: false, header: null },
  dat: { delimiter: '::', delimiterName: "'::'", quoted: false, header: null },
  csv: { delimiter: ',', delimiterName: 'comma', quoted: true, header: ['movieId', 'title', 'genres'] },
};

export const USERS_FORMAT: Record<'100k' | 'dat', LineFormat> = {
  '100k': { delimiter: '|', delimiterName: "'|'", quoted: false, header: null },
  dat: { delimiter: '::', delimiterName: "'::'", quoted: false, header: null },
};

/** 1M's users.dat stores occupations as codes; its README names them. */
export const ML1M_OCCUPATIONS: readonly string[] = [
  'other',
  'academic/educator',
  'artist',
  'clerical/admin',
  'college/grad student',
  'customer service',
  'doctor/health care',
  'executive/managerial',
  'farmer',
  'homemaker',
  'K-12 student',
  'lawyer',
  'programmer',
  'retired',
  'sales/marketing',
  'scientist',
  'self-employed',
  'technician/engineer',
  'tradesman/craftsman',
  'unemployed',
  'writer',
];
