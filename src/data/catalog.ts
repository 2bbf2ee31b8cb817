/**
 * The catalog as read from a data source (a MovieLens folder or the demo generator), before it reaches
 * SQLite: plain records with external ids. The in-memory training form is `Dataset` (dataset.ts).
 */
import type { RatingTriple } from './dataset.js';

/** A movie. `title` is the full source title, year included ("Toy Story (1995)"); `year` is split out. */
export interface ItemRecord {
  itemId: number;
  title: string;
  /** Release year parsed from the title (100K: else from u.item's release date); null when unknown. */
  year: number | null;
  genres: string[];
}

/** A movie with how often and how high it was rated: what the catalog's "popular" and "highly rated" orders read. */
export interface ItemRatingStats {
  item: ItemRecord;
  /** Number of ratings of the movie. */
  ratings: number;
  /** Sum of their values (the mean is ratingSum / ratings). */
  ratingSum: number;
}

/** A user with the demographics MovieLens publishes (100K's u.user, 1M's users.dat); null when unknown. */
export interface UserRecord {
  userId: number;
  age: number | null;
  gender: string | null;
  occupation: string | null;
  zipCode: string | null;
}

/** A rating with the time it was given, in seconds since the Unix epoch (MovieLens convention). */
export interface TimedRating extends RatingTriple {
  timestamp: number;
}

/** Rows left out of an import, grouped by reason. MovieLens imports list every reason, even at count 0. */
export interface SkipCount {
  reason: string;
  count: number;
}

export type MovieLensLayout = '100k' | 'dat' | 'csv';
export type CatalogLayout = MovieLensLayout | 'demo';

/** Everything an import needs: what `readMovieLensFolder` and `generateDemoCatalog` return. */
export interface CatalogData {
  layout: CatalogLayout;
  /** Where the data came from: the folder's absolute path, or "demo:seed=…" for the generator. */
  source: string;
  /**
   * What identifies the data set whatever its path (a MovieLens folder: the SHA-256 of its layout and movie
   * files, fingerprint.ts). Absent for a catalog built in code: the importer derives it from its source.
   */
  fingerprint?: string;
  items: ItemRecord[];
  users?: UserRecord[];
  ratings: TimedRating[];
  /** Ascending distinct rating values of `ratings` (the RBM's softmax levels). */
  ratingLevels: number[];
  skipped: SkipCount[];
}

/** The 18 MovieLens genres (100K also has "unknown"), in u.genre order. */
export const MOVIELENS_GENRES: readonly string[] = [
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];
