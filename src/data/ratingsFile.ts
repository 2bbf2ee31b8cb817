/**
 * Reads a MovieLens ratings file (u.data and its u1.base … ub.test splits, ratings.dat, ratings.csv) into
 * rating rows, in file order, exactly as written: no de-duplication, no item checks. Those are import
 * policy (movielens.ts); the evaluator wants a published split as it is.
 */
import type { MovieLensLayout, TimedRating } from './catalog.js';
import { forEachDelimitedRow } from './delimitedFile.js';
import {
  describeLine,
  expectFieldCount,
  expectHeader,
  parseId,
  parseRatingValue,
  parseTimestamp,
  type FieldContext,
} from './fields.js';
import { RATINGS_FORMAT, RATING_FIELDS } from './layouts.js';

export interface ReadRatingsOptions {
  /** Called after each chunk with the bytes read so far. */
  onBytes?: (bytesRead: number) => void;
  /** Longest line in bytes (default DEFAULT_INPUT_LIMITS.maxLineBytes). */
  maxLineBytes?: number;
}

/**
 * Parses every rating of `path`. `onRating` sees each rating with its 1-based line number as it is read.
 * Rejects with a MalformedLineError (file, line, what was expected) on the first bad line.
 */
export async function readRatingsFile(
  path: string,
  format: MovieLensLayout,
  onRating?: (rating: TimedRating, line: number) => void,
  options: ReadRatingsOptions = {},
): Promise<TimedRating[]> {
  const lineFormat = RATINGS_FORMAT[format];
  const lineShape = describeLine(RATING_FIELDS, lineFormat.delimiterName);
  const ratings: TimedRating[] = [];
  let expectingHeader = lineFormat.header !== null;

  await forEachDelimitedRow(
    path,
    { delimiter: lineFormat.delimiter, quoted: lineFormat.quoted, encoding: 'utf8', onBytes: options.onBytes, maxLineBytes: options.maxLineBytes },
    (fields, line) => {
      const where: FieldContext = { file: path, line };
      if (expectingHeader && lineFormat.header) {
        expectHeader(fields, lineFormat.header, where);
        expectingHeader = false;
        return;
      }
      expectFieldCount(fields, RATING_FIELDS.length, lineShape, lineFormat.delimiter, where);
      const rating: TimedRating = {
        userId: parseId(fields[0], 'user id (field 1)', where),
        itemId: parseId(fields[1], 'item id (field 2)', where),
        value: parseRatingValue(fields[2], where),
        timestamp: parseTimestamp(fields[3], where),
      };
      ratings.push(rating);
      onRating?.(rating, line);
    },
  );
  return ratings;
}
