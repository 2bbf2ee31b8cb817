/**
 * Reads MovieLens movie files (u.item + u.genre, movies.dat, movies.csv) into ItemRecords.
 */
import type { ItemRecord, MovieLensLayout } from './catalog.js';
import { MOVIELENS_GENRES } from './catalog.js';
import { forEachDelimitedRow } from './delimitedFile.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits, type ByteSink } from './inputLimits.js';
import { MalformedLineError, quoteForMessage } from './errors.js';
import { describeLine, expectFieldCount, expectHeader, parseId, type FieldContext } from './fields.js';
import { ITEMS_FORMAT, type LineFormat } from './layouts.js';
import { splitTitleYear } from './titles.js';

/** u.genre as shipped with 100K; used when a 100K folder lacks u.genre. */
export const ML100K_GENRES: readonly string[] = ['unknown', ...MOVIELENS_GENRES];

/** latest/20M/25M write this instead of an empty genre list. */
const NO_GENRES = '(no genres listed)';

/** u.item's fixed columns before the genre flags. */
const ML100K_ITEM_FIELDS = ['movie id', 'title', 'release date', 'video release date', 'IMDb URL'];

/** How a catalog file is read: size limits, and a digest fed the file's bytes (the data set's fingerprint). */
export interface CatalogFileOptions {
  limits?: Partial<InputLimits>;
  digest?: ByteSink;
}

/**
 * Reads u.genre: lines `name|index`, index 0, 1, 2, … giving the order of u.item's genre flag columns.
 */
export async function readGenreNames(
  path: string,
  onBytes?: (bytes: number) => void,
  options: CatalogFileOptions = {},
): Promise<string[]> {
  const names: string[] = [];
  const read = { maxLineBytes: options.limits?.maxLineBytes, digest: options.digest };
  await forEachDelimitedRow(path, { delimiter: '|', quoted: false, encoding: 'auto', onBytes, ...read }, (fields, line) => {
    const where: FieldContext = { file: path, line };
    expectFieldCount(fields, 2, describeLine(['genre name', 'flag index'], "'|'"), '|', where);
    const index = parseId(fields[1], 'flag index (field 2)', where);
    if (index !== names.length) {
      throw new MalformedLineError(path, line, `flag index ${names.length} (indices count up from 0)`, String(index));
    }
    names.push(fields[0].trim());
  });
  return names;
}

/**
 * Reads the movie file of a layout. `genreNames` names 100K's flag columns (ignored for the other layouts,
 * which list genres by name). An item id defined twice is an error: it would make ratings ambiguous.
 */
export async function readItemsFile(
  path: string,
  layout: MovieLensLayout,
  genreNames: readonly string[] = ML100K_GENRES,
  onBytes?: (bytes: number) => void,
  options: CatalogFileOptions = {},
): Promise<ItemRecord[]> {
  const format = ITEMS_FORMAT[layout];
  const maxTitleChars = options.limits?.maxTitleChars ?? DEFAULT_INPUT_LIMITS.maxTitleChars;
  const items: ItemRecord[] = [];
  const definedOnLine = new Map<number, number>();
  let expectingHeader = format.header !== null;

  const parseLine = layout === '100k' ? item100kParser(genreNames, maxTitleChars) : namedGenresParser(format, maxTitleChars);

  await forEachDelimitedRow(
    path,
    {
      delimiter: format.delimiter,
      quoted: format.quoted,
      encoding: 'auto',
      onBytes,
      maxLineBytes: options.limits?.maxLineBytes,
      digest: options.digest,
    },
    (fields, line) => {
      const where: FieldContext = { file: path, line };
      if (expectingHeader && format.header) {
        expectHeader(fields, format.header, where);
        expectingHeader = false;
        return;
      }
      const item = parseLine(fields, where);
      const earlierLine = definedOnLine.get(item.itemId);
      if (earlierLine !== undefined) {
        throw new MalformedLineError(
          path,
          line,
          `a movie id not used before`,
          `movie ${item.itemId}, already defined on line ${earlierLine}`,
        );
      }
      definedOnLine.set(item.itemId, line);
      items.push(item);
    },
  );
  return items;
}

type ItemLineParser = (fields: string[], where: FieldContext) => ItemRecord;

/** u.item: id|title|release date|video release date|URL|flag × genres (0 or 1). */
function item100kParser(genreNames: readonly string[], maxTitleChars: number): ItemLineParser {
  const fieldNames = [...ML100K_ITEM_FIELDS, ...genreNames.map((g) => `${g} flag`)];
  const lineShape = `${fieldNames.length} '|'-separated fields (${ML100K_ITEM_FIELDS.join(', ')}, then ${genreNames.length} genre flags)`;
  const first = ML100K_ITEM_FIELDS.length;
  return (fields, where) => {
    expectFieldCount(fields, fieldNames.length, lineShape, '|', where);
    const itemId = parseId(fields[0], 'movie id (field 1)', where);
    const { title, year } = splitTitleYear(checkedTitle(fields[1], maxTitleChars, where));
    const genres: string[] = [];
    for (let g = 0; g < genreNames.length; g++) {
      const flag = fields[first + g].trim();
      if (flag === '1') genres.push(genreNames[g]);
      else if (flag !== '0') {
        throw new MalformedLineError(
          where.file,
          where.line,
          `${genreNames[g]} flag (field ${first + g + 1}) to be 0 or 1`,
          quoteForMessage(fields[first + g]),
        );
      }
    }
    // A few 100K titles lack "(year)"; the release date ("01-Jan-1995") still has it.
    const releaseYear = /(\d{4})\s*$/.exec(fields[2]);
    return { itemId, title, year: year ?? (releaseYear ? Number(releaseYear[1]) : null), genres };
  };
}

/** movies.dat / movies.csv: id, title, genres joined by '|'. */
function namedGenresParser(format: LineFormat, maxTitleChars: number): ItemLineParser {
  const lineShape = describeLine(['movie id', 'title', 'genres joined by |'], format.delimiterName);
  return (fields, where) => {
    expectFieldCount(fields, 3, lineShape, format.delimiter, where);
    const itemId = parseId(fields[0], 'movie id (field 1)', where);
    const { title, year } = splitTitleYear(checkedTitle(fields[1], maxTitleChars, where));
    const genreText = fields[2].trim();
    const genres = genreText === '' || genreText === NO_GENRES ? [] : genreText.split('|').map((g) => g.trim());
    return { itemId, title, year, genres };
  };
}

/** The title field, refused when longer than the limit (field 2 in every layout). */
function checkedTitle(field: string, maxTitleChars: number, where: FieldContext): string {
  const length = field.trim().length;
  if (length > maxTitleChars) {
    throw new MalformedLineError(
      where.file,
      where.line,
      `a title (field 2) of at most ${maxTitleChars.toLocaleString('en-US')} characters`,
      `${length.toLocaleString('en-US')} characters: ${quoteForMessage(field.trim())}`,
    );
  }
  return field;
}
