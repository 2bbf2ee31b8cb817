/**
 * The visitor's ratings as a file to take elsewhere and load back (issue 22): JSON (what "Download"
 * writes) or CSV with a header naming `itemId` and `rating` columns (what a spreadsheet writes). Reading
 * checks every entry and says which one is wrong and why; whether the item ids exist in this catalog is
 * asked of the server afterwards (discover.ts), so an unknown id is reported, never silently dropped.
 *
 * JSON: {"format":"rbm-recommender-ratings","version":1,"catalog":"items-1682","exportedAt":"…",
 *        "ratings":[{"itemId":50,"rating":5,"title":"Star Wars (1977)","ratedAt":1733200000000}, …]}
 * CSV:  itemId,rating,title          (title and ratedAt columns are optional; commas in titles quoted)
 *       50,5,Star Wars (1977)
 * Pure: no DOM, no fetch.
 */

export const RATINGS_FILE_FORMAT = 'rbm-recommender-ratings';
export const RATINGS_FILE_VERSION = 1;
/** A file beyond this many ratings is refused (the fold-in endpoint takes at most 500). */
export const MAX_FILE_RATINGS = 500;
/** Bytes read at most: 500 ratings with long titles fit in well under a megabyte. */
export const MAX_FILE_BYTES = 1_000_000;

export interface FileRating {
  itemId: number;
  rating: number;
  /** Milliseconds since the epoch, when the file has it (keeps the order of "Your ratings"). */
  ratedAt?: number;
}

export interface ExportedRating {
  itemId: number;
  rating: number;
  title: string;
  ratedAt: number;
}

export class RatingsFileError extends Error {
  override name = 'RatingsFileError';
}

/** The JSON file "Download" writes. */
export function ratingsToJson(ratings: readonly ExportedRating[], catalog: string, now = new Date()): string {
  const body = {
    format: RATINGS_FILE_FORMAT,
    version: RATINGS_FILE_VERSION,
    catalog,
    exportedAt: now.toISOString(),
    ratings: ratings.map((r) => ({ itemId: r.itemId, rating: r.rating, title: r.title, ratedAt: r.ratedAt })),
  };
  return `${JSON.stringify(body, null, 1)}\n`;
}

/** The same ratings as CSV (itemId,rating,title,ratedAt). */
export function ratingsToCsv(ratings: readonly ExportedRating[]): string {
  const quote = (text: string): string => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return ['itemId,rating,title,ratedAt', ...ratings.map((r) => `${r.itemId},${r.rating},${quote(r.title)},${r.ratedAt}`)].join('\n') + '\n';
}

const levelOf = (value: number, levels: readonly number[]): number | undefined => levels.find((l) => Math.abs(l - value) < 1e-9);

/** Checks one entry; `where` names it in messages ("entry 3", "line 4"). */
function checkEntry(itemId: unknown, rating: unknown, ratedAt: unknown, where: string, levels: readonly number[]): FileRating {
  const id = typeof itemId === 'string' && /^\d+$/.test(itemId.trim()) ? Number(itemId.trim()) : itemId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new RatingsFileError(`${where}: itemId must be a non-negative whole number, got ${JSON.stringify(itemId) ?? 'nothing'}`);
  }
  const value = typeof rating === 'string' && rating.trim() !== '' ? Number(rating.trim()) : rating;
  const level = typeof value === 'number' && Number.isFinite(value) ? levelOf(value, levels) : undefined;
  if (level === undefined) {
    throw new RatingsFileError(`${where}: rating must be one of ${levels.join(', ')}, got ${JSON.stringify(rating) ?? 'nothing'}`);
  }
  const at = typeof ratedAt === 'string' && /^\d+$/.test(ratedAt.trim()) ? Number(ratedAt.trim()) : ratedAt;
  const entry: FileRating = { itemId: id, rating: level };
  if (typeof at === 'number' && Number.isSafeInteger(at) && at >= 0) entry.ratedAt = at;
  return entry;
}

/** Later entries for the same movie replace earlier ones, as rating it again would. */
function dedupe(entries: FileRating[]): FileRating[] {
  const byItem = new Map<number, FileRating>();
  for (const e of entries) byItem.set(e.itemId, e);
  return [...byItem.values()];
}

function parseJson(text: string, levels: readonly number[]): FileRating[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new RatingsFileError(`the file is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const list = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>).ratings
      : undefined;
  if (!Array.isArray(list))
    throw new RatingsFileError('the JSON file has no "ratings" list (expected {"ratings": [{"itemId": …, "rating": …}, …]})');
  if (!Array.isArray(body)) {
    const format = (body as Record<string, unknown>).format;
    if (format !== undefined && format !== RATINGS_FILE_FORMAT) {
      throw new RatingsFileError(`the file's format is "${String(format)}", expected "${RATINGS_FILE_FORMAT}"`);
    }
  }
  if (list.length > MAX_FILE_RATINGS)
    throw new RatingsFileError(`the file has ${list.length} ratings; at most ${MAX_FILE_RATINGS} can be loaded`);
  return list.map((entry: unknown, n) => {
    if (typeof entry !== 'object' || entry === null)
      throw new RatingsFileError(`entry ${n + 1}: expected an object with itemId and rating`);
    const e = entry as Record<string, unknown>;
    return checkEntry(e.itemId, e.rating, e.ratedAt, `entry ${n + 1}`, levels);
  });
}

/** RFC 4180 fields of one line (quoted fields may hold commas and doubled quotes; not line breaks). */
function csvFields(line: string, where: string): string[] {
  const fields: string[] = [];
  let at = 0;
  while (at <= line.length) {
    if (line[at] === '"') {
      let value = '';
      let end = at + 1;
      for (;;) {
        const quote = line.indexOf('"', end);
        if (quote < 0) throw new RatingsFileError(`${where}: a quoted field is not closed`);
        value += line.slice(end, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          end = quote + 2;
        } else {
          end = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (end < line.length && line[end] !== ',') throw new RatingsFileError(`${where}: text after a closing quote`);
      at = end + 1;
    } else {
      const comma = line.indexOf(',', at);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(at, end).trim());
      at = end + 1;
    }
  }
  return fields;
}

function parseCsv(text: string, levels: readonly number[]): FileRating[] {
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new RatingsFileError('the file is empty');
  const header = csvFields(lines[headerAt], `line ${headerAt + 1}`).map((h) => h.trim().toLowerCase());
  const col = (...names: string[]): number => header.findIndex((h) => names.includes(h));
  const idCol = col('itemid', 'item_id', 'movieid', 'movie_id');
  const ratingCol = col('rating', 'value');
  const ratedAtCol = col('ratedat');
  if (idCol < 0 || ratingCol < 0) {
    throw new RatingsFileError(
      `line ${headerAt + 1}: the CSV header must name an itemId and a rating column, got "${lines[headerAt].trim()}"`,
    );
  }
  const out: FileRating[] = [];
  for (let n = headerAt + 1; n < lines.length; n++) {
    if (lines[n].trim() === '') continue;
    const fields = csvFields(lines[n], `line ${n + 1}`);
    out.push(checkEntry(fields[idCol], fields[ratingCol], ratedAtCol >= 0 ? fields[ratedAtCol] : undefined, `line ${n + 1}`, levels));
    if (out.length > MAX_FILE_RATINGS)
      throw new RatingsFileError(`the file has more than ${MAX_FILE_RATINGS} ratings; at most ${MAX_FILE_RATINGS} can be loaded`);
  }
  return out;
}

/**
 * The ratings of a file, checked against the rating scale: JSON when it starts with "{" or "[", else CSV.
 * Throws a RatingsFileError naming the entry or line at fault.
 */
export function parseRatingsFile(text: string, levels: readonly number[]): FileRating[] {
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') throw new RatingsFileError('the file is empty');
  const entries = body.startsWith('{') || body.startsWith('[') ? parseJson(body, levels) : parseCsv(body, levels);
  if (entries.length === 0) throw new RatingsFileError('the file has no ratings');
  return dedupe(entries);
}
