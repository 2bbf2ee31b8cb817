/**
 * The ratings file (web/src/ratings-file.ts): what "Download" writes loads back to the same ratings, and a
 * bad file is refused with the entry or line at fault named.
 */
import { describe, expect, it } from 'vitest';
import { parseRatingsFile, ratingsToCsv, ratingsToJson, RatingsFileError } from '../../web/src/ratings-file.js';

const LEVELS = [1, 2, 3, 4, 5];
const RATINGS = [
  { itemId: 50, rating: 5, title: 'Star Wars (1977)', ratedAt: 1_700_000_000_300 },
  { itemId: 100, rating: 2, title: 'Fargo, "the" movie, (1996)', ratedAt: 1_700_000_000_200 },
];
const expected = RATINGS.map(({ itemId, rating, ratedAt }) => ({ itemId, rating, ratedAt }));

describe('ratings file', () => {
  it('JSON and CSV written by the page load back to the same ratings', () => {
    expect(parseRatingsFile(ratingsToJson(RATINGS, 'items-1682'), LEVELS)).toEqual(expected);
    expect(parseRatingsFile(ratingsToCsv(RATINGS), LEVELS)).toEqual(expected);
  });

  it('takes a plain CSV (any column order, movieId, no ratedAt) and a bare JSON list; a repeated movie keeps its last rating', () => {
    expect(parseRatingsFile('rating,movieId\n4,1\n\n3,2\n5,1\n', LEVELS)).toEqual([
      { itemId: 1, rating: 5 },
      { itemId: 2, rating: 3 },
    ]);
    expect(parseRatingsFile('[{"itemId": 7, "rating": 4}]', LEVELS)).toEqual([{ itemId: 7, rating: 4 }]);
  });

  it.each([
    ['', 'the file is empty'],
    ['{"ratings": 3}', 'the JSON file has no "ratings" list'],
    ['{"format": "other", "ratings": []}', 'the file\'s format is "other", expected "rbm-recommender-ratings"'],
    ['{"ratings": []}', 'the file has no ratings'],
    [
      '{"ratings": [{"itemId": 1, "rating": 4}, {"itemId": -2, "rating": 4}]}',
      'entry 2: itemId must be a non-negative whole number, got -2',
    ],
    ['{"ratings": [{"itemId": 1, "rating": 4.5}]}', 'entry 1: rating must be one of 1, 2, 3, 4, 5, got 4.5'],
    ['{"ratings": [{"itemId": 1}]}', 'entry 1: rating must be one of 1, 2, 3, 4, 5, got nothing'],
    ['{"ratings": [', 'the file is not valid JSON'],
    ['id,stars\n1,4\n', 'line 1: the CSV header must name an itemId and a rating column, got "id,stars"'],
    ['itemId,rating\n1,4\nx,4\n', 'line 3: itemId must be a non-negative whole number, got "x"'],
    ['itemId,rating,title\n1,4,"open\n', 'line 2: a quoted field is not closed'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseRatingsFile(text, LEVELS)).toThrow(RatingsFileError);
    expect(() => parseRatingsFile(text, LEVELS)).toThrow(message);
  });

  it('refuses more than 500 ratings', () => {
    const many = `itemId,rating\n${Array.from({ length: 501 }, (_, n) => `${n},4`).join('\n')}\n`;
    expect(() => parseRatingsFile(many, LEVELS)).toThrow(/more than 500 ratings/);
  });
});
