/**
 * A fast, synchronous, streaming reader of MovieLens ratings files for bulk imports (25M ratings and
 * more): the file is read in fixed-size chunks and each line's four numbers are parsed straight from the
 * bytes, so no string, array or object is made per rating and memory stays flat whatever the file size.
 *
 * It accepts exactly what readRatingsFile (papaparse, ratingsFile.ts) accepts and rejects the same lines
 * with the same MalformedLineError: a line the byte parser does not recognise as plain
 * `digits<d>digits<d>decimal<d>digits` is decoded and handed to the shared field checks (fields.ts),
 * which either parse it (e.g. spaces around a field) or throw the message the streamed reader would.
 *
 * Synchronous on purpose: the importer writes each batch of rows inside one better-sqlite3 transaction,
 * and such a transaction cannot span an `await`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { MovieLensLayout } from './catalog.js';
import { blankLineBeforeData, MalformedLineError } from './errors.js';
import {
  describeLine,
  expectFieldCount,
  expectHeader,
  parseId,
  parseRatingValue,
  parseTimestamp,
  type FieldContext,
} from './fields.js';
import { DEFAULT_INPUT_LIMITS, describeBytes, type ByteSink } from './inputLimits.js';
import { RATINGS_FORMAT, RATING_FIELDS } from './layouts.js';

/** Receives one rating; `line` is its 1-based line number in the file. */
export type RatingRowHandler = (userId: number, itemId: number, value: number, timestamp: number, line: number) => void;

export interface ScanRatingsOptions {
  /** Called after each chunk with the bytes consumed so far and the file's size. */
  onBytes?: (bytesRead: number, totalBytes: number) => void;
  /** Bytes read per chunk (default 4 MiB); small values exercise lines split across chunks in tests. */
  chunkBytes?: number;
  /** Longest line in bytes (default DEFAULT_INPUT_LIMITS.maxLineBytes): refused at the limit, not read whole. */
  maxLineBytes?: number;
  /** Receives the file's bytes as they are read. */
  digest?: ByteSink;
}

export interface ScanRatingsResult {
  rows: number;
  bytes: number;
}

const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;
const ZERO = 0x30;
const DOT = 0x2e;
/** More digits than this cannot be a safe integer id: let the field checks report it. */
const MAX_ID_DIGITS = 15;
/** The field checks' rating pattern: up to 6 integer and 6 fraction digits. */
const MAX_RATING_DIGITS = 6;
const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];

/**
 * Calls `onRow` for every rating of `path` in file order. Rejects (throws) with a MalformedLineError on
 * the first bad line, having called `onRow` for every line before it.
 */
export function scanRatingsFile(
  path: string,
  layout: MovieLensLayout,
  onRow: RatingRowHandler,
  options: ScanRatingsOptions = {},
): ScanRatingsResult {
  const format = RATINGS_FORMAT[layout];
  const lineShape = describeLine(RATING_FIELDS, format.delimiterName);
  const delimiter = Buffer.from(format.delimiter, 'latin1');
  const d0 = delimiter[0];
  const wideDelimiter = delimiter.length > 1;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_INPUT_LIMITS.maxLineBytes;
  const tooLong = (lineNumber: number): MalformedLineError =>
    new MalformedLineError(path, lineNumber, `lines of at most ${describeBytes(maxLineBytes)}`, 'a line longer than that; reading stopped there');

  const fd = openSync(path, 'r');
  try {
    const totalBytes = fstatSync(fd).size;
    // A line longer than a chunk grows the buffer, up to twice the line limit; normal lines are ~30 bytes.
    let buffer = Buffer.allocUnsafe(chunkBytes);
    let filled = 0;
    let position = 0;
    let line = 0;
    let rows = 0;
    let expectingHeader = format.header !== null;
    let pendingBlankLine = 0;
    let firstLine = true;

    // Parse state shared with parseFast (closure variables are cheaper than returning objects).
    let userId = 0;
    let itemId = 0;
    let value = 0;
    let timestamp = 0;

    /** Parses buffer[start, end) (no CR/LF) as a plain rating line; false when it is anything else. */
    const parseFast = (start: number, end: number): boolean => {
      let at = start;
      // Field 1: user id.
      let n = 0;
      let digits = 0;
      while (at < end) {
        const c = buffer[at] - ZERO;
        if (c < 0 || c > 9) break;
        n = n * 10 + c;
        at++;
        digits++;
      }
      if (digits === 0 || digits > MAX_ID_DIGITS || at >= end || buffer[at] !== d0) return false;
      if (wideDelimiter && buffer[at + 1] !== delimiter[1]) return false;
      at += delimiter.length;
      userId = n;
      // Field 2: item id.
      n = 0;
      digits = 0;
      while (at < end) {
        const c = buffer[at] - ZERO;
        if (c < 0 || c > 9) break;
        n = n * 10 + c;
        at++;
        digits++;
      }
      if (digits === 0 || digits > MAX_ID_DIGITS || at >= end || buffer[at] !== d0) return false;
      if (wideDelimiter && buffer[at + 1] !== delimiter[1]) return false;
      at += delimiter.length;
      itemId = n;
      // Field 3: rating, digits[.digits]. value = mantissa / 10^f is the correctly rounded double of the
      // decimal (both are exact integers, and IEEE division rounds correctly), i.e. exactly Number(text).
      n = 0;
      digits = 0;
      while (at < end) {
        const c = buffer[at] - ZERO;
        if (c < 0 || c > 9) break;
        n = n * 10 + c;
        at++;
        digits++;
      }
      if (digits === 0 || digits > MAX_RATING_DIGITS || at >= end) return false;
      let fraction = 0;
      if (buffer[at] === DOT) {
        at++;
        while (at < end) {
          const c = buffer[at] - ZERO;
          if (c < 0 || c > 9) break;
          n = n * 10 + c;
          at++;
          fraction++;
        }
        if (fraction === 0 || fraction > MAX_RATING_DIGITS || at >= end) return false;
      }
      if (buffer[at] !== d0) return false;
      if (wideDelimiter && buffer[at + 1] !== delimiter[1]) return false;
      at += delimiter.length;
      value = fraction === 0 ? n : n / POWERS_OF_TEN[fraction];
      // Field 4: timestamp, to the end of the line.
      n = 0;
      digits = 0;
      while (at < end) {
        const c = buffer[at] - ZERO;
        if (c < 0 || c > 9) break;
        n = n * 10 + c;
        at++;
        digits++;
      }
      if (digits === 0 || digits > MAX_ID_DIGITS || at !== end) return false;
      timestamp = n;
      return true;
    };

    /** The shared field checks on one decoded line: parse it, or throw what readRatingsFile would. */
    const parseSlow = (text: string): void => {
      const where: FieldContext = { file: path, line };
      // A CSV field may be quoted ("4.5"), as papaparse would accept.
      const fields = text.split(format.delimiter).map((field) => (format.quoted ? unquote(field) : field));
      expectFieldCount(fields, RATING_FIELDS.length, lineShape, format.delimiter, where);
      userId = parseId(fields[0], 'user id (field 1)', where);
      itemId = parseId(fields[1], 'item id (field 2)', where);
      value = parseRatingValue(fields[2], where);
      timestamp = parseTimestamp(fields[3], where);
    };

    const handleLine = (start: number, end: number): void => {
      line++;
      if (end - start > maxLineBytes) throw tooLong(line);
      if (end > start && buffer[end - 1] === CR) end--;
      // A UTF-8 byte-order mark at the very start is skipped, as the streamed reader does.
      if (firstLine) {
        firstLine = false;
        if (end - start >= 3 && buffer[start] === 0xef && buffer[start + 1] === 0xbb && buffer[start + 2] === 0xbf) start += 3;
      }
      if (end === start) {
        if (pendingBlankLine === 0) pendingBlankLine = line;
        return;
      }
      if (pendingBlankLine !== 0) throw blankLineBeforeData(path, pendingBlankLine);
      if (expectingHeader && format.header) {
        expectHeader(buffer.toString('utf8', start, end).split(format.delimiter), format.header, { file: path, line });
        expectingHeader = false;
        return;
      }
      if (!parseFast(start, end)) parseSlow(buffer.toString('utf8', start, end));
      rows++;
      onRow(userId, itemId, value, timestamp, line);
    };

    while (true) {
      // The unfinished line carried over is already over the limit: refuse it before reading more of it.
      if (filled > maxLineBytes) throw tooLong(line + 1);
      if (filled === buffer.length) {
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, filled);
        buffer = grown;
      }
      const read = readSync(fd, buffer, filled, buffer.length - filled, position);
      if (read > 0) options.digest?.update(buffer.subarray(filled, filled + read));
      position += read;
      filled += read;
      const atEnd = read === 0;
      let start = 0;
      for (let at = buffer.indexOf(NEWLINE, 0); at !== -1 && at < filled; at = buffer.indexOf(NEWLINE, start)) {
        handleLine(start, at);
        start = at + 1;
      }
      if (atEnd) {
        // The last line may lack its newline.
        if (start < filled) handleLine(start, filled);
        options.onBytes?.(position, totalBytes);
        return { rows, bytes: position };
      }
      // Carry the unfinished line to the front of the buffer.
      buffer.copy(buffer, 0, start, filled);
      filled -= start;
      options.onBytes?.(position - filled, totalBytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** `"4.5"` → `4.5` (a doubled quote inside stands for one); anything else unchanged. */
function unquote(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1).replace(/""/g, '"') : field;
}
