/**
 * Streams a delimited text file row by row through papaparse, tracking 1-based line numbers so every
 * parser above it can report "file:line: expected …". The file is never read whole: papaparse parses the
 * read stream's chunks as they arrive (64 KiB each), so memory stays flat however large the file.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import Papa from 'papaparse';
import { blankLineBeforeData, MalformedLineError, quoteForMessage } from './errors.js';
import { DEFAULT_INPUT_LIMITS, describeBytes, type ByteSink } from './inputLimits.js';

export type TextEncoding = 'utf8' | 'latin1';

export interface DelimitedFileOptions {
  /** Field separator; may be several characters ("::" in MovieLens 1M/10M). */
  delimiter: string;
  /**
   * Whether fields may be quoted CSV-style ("Foo, Bar" with "" for a literal quote). Off for MovieLens'
   * tab, `|` and `::` files: they have no quoting, and a title may legitimately begin with a quote
   * character (10M: `"Great Performances" Cats (1998)`), which a CSV parser would misread.
   */
  quoted: boolean;
  /**
   * Text encoding, decided for the whole file. 'auto': UTF-8 when the bytes are valid UTF-8; ISO-8859-1
   * (latin-1) when they are not and hold no UTF-8 multi-byte character at all (100K's u.item and 1M's
   * movies.dat are latin-1, the newer files UTF-8); refused, naming the first line that is not UTF-8, when
   * the file mixes both (one latin-1 "é" in a UTF-8 file would otherwise turn every "é" of the file into
   * "Ã©"). A UTF-8 byte-order mark means UTF-8 (skipped; bytes that are not UTF-8 are then refused too).
   */
  encoding: TextEncoding | 'auto';
  /** Called after each chunk with the bytes read so far (for progress bars). */
  onBytes?: (bytesRead: number) => void;
  /** Longest line (longest row, for quoted CSV) in bytes; default DEFAULT_INPUT_LIMITS.maxLineBytes. */
  maxLineBytes?: number;
  /** Receives the file's bytes as they are read, e.g. a sha256 fingerprint of the file. */
  digest?: ByteSink;
}

export interface DelimitedFileStats {
  /** Lines in the file, trailing blank lines included. */
  lines: number;
  bytes: number;
  encoding: TextEncoding;
}

/** A quote character that cannot occur in text files, which turns papaparse's quote handling off. */
const NO_QUOTE_CHAR = '\u0000';
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Calls `onRow(fields, line)` for each non-blank line of the file, in order. Blank lines are allowed only
 * at the end of the file (a trailing newline, or several); a blank line followed by more data is an error,
 * since it usually means a file was truncated or concatenated by mistake. CRLF line endings are accepted.
 * If `onRow` throws, reading stops and the promise rejects with that error.
 */
export async function forEachDelimitedRow(
  path: string,
  options: DelimitedFileOptions,
  onRow: (fields: string[], line: number) => void,
): Promise<DelimitedFileStats> {
  // A first pass over the raw bytes, before papaparse (which would hold a whole row, however long, in
  // memory): it refuses an overlong line at the limit, decides the encoding and feeds the digest.
  const { encoding, start } = await inspectTextFile(path, options);
  const stream = createReadStream(path, { encoding, start });
  const quoted = options.quoted;

  return new Promise<DelimitedFileStats>((resolve, reject) => {
    let linesSeen = 0;
    // The first blank line of a run not yet followed by data: fine at the end of the file, an error if
    // data follows.
    let pendingBlankLine = 0;
    let failure: unknown = null;

    const handleRows = (rows: string[][], errors: Papa.ParseError[]): void => {
      const errorByRow = new Map<number, Papa.ParseError>();
      for (const error of errors) if (error.row !== undefined && !errorByRow.has(error.row)) errorByRow.set(error.row, error);
      for (let r = 0; r < rows.length; r++) {
        const fields = rows[r];
        const line = linesSeen + 1;
        // A quoted field may span lines; count them so later line numbers stay right.
        linesSeen += 1 + (quoted ? embeddedLineBreaks(fields) : 0);
        const parseError = errorByRow.get(r);
        if (parseError) {
          throw new MalformedLineError(
            path,
            line,
            'a well-formed CSV row (a quoted field must be closed by a quote followed by a comma or the line end)',
            `${parseError.message.toLowerCase()}: ${quoteForMessage(fields.join(options.delimiter))}`,
          );
        }
        stripCarriageReturn(fields);
        if (fields.length === 1 && fields[0] === '') {
          if (pendingBlankLine === 0) pendingBlankLine = line;
          continue;
        }
        if (pendingBlankLine !== 0) throw blankLineBeforeData(path, pendingBlankLine);
        onRow(fields, line);
      }
    };

    Papa.parse<string[]>(stream, {
      delimiter: options.delimiter,
      quoteChar: quoted ? '"' : NO_QUOTE_CHAR,
      escapeChar: quoted ? '"' : NO_QUOTE_CHAR,
      header: false,
      dynamicTyping: false,
      skipEmptyLines: false,
      chunk(results, parser) {
        try {
          handleRows(results.data, results.errors);
          options.onBytes?.(stream.bytesRead);
        } catch (error) {
          failure = error;
          // abort() calls `complete` synchronously; destroy() stops the file from being read further.
          parser.abort();
          stream.destroy();
        }
      },
      complete() {
        if (failure !== null) reject(failure);
        else resolve({ lines: linesSeen, bytes: stream.bytesRead, encoding });
      },
      error(error: Error) {
        reject(new Error(`could not read ${path}: ${error.message}`, { cause: error }));
      },
    });
  });
}

/** Number of line breaks inside the fields of one parsed row (only quoted CSV fields can contain any). */
function embeddedLineBreaks(fields: string[]): number {
  let count = 0;
  for (const field of fields) {
    for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) count++;
  }
  return count;
}

/**
 * papaparse detects the line ending from the first chunk; a file that mixes CRLF and LF can still leave a
 * '\r' at the end of a row's last field. Drop it so it never leaks into a genre or a number.
 */
function stripCarriageReturn(fields: string[]): void {
  const last = fields.length - 1;
  if (fields[last].endsWith('\r')) fields[last] = fields[last].slice(0, -1);
}

/** Where the CSV state machine of inspectTextFile stands (quoted files only). */
const enum CsvState {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;

/**
 * Reads the file's raw bytes once, in chunks (never a whole line):
 * - refuses a line (for quoted CSV: a row, whose quoted fields may span lines) longer than `maxLineBytes`
 *   as soon as it passes the limit, naming the line where it starts;
 * - decides the encoding (see DelimitedFileOptions.encoding), refusing a file that mixes UTF-8 and
 *   latin-1 with the first line that is not UTF-8;
 * - feeds `digest`.
 * Lines are counted by '\n' (CRLF files included), as papaparse's rows are.
 */
async function inspectTextFile(
  path: string,
  options: DelimitedFileOptions,
): Promise<{ encoding: TextEncoding; start: number }> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_INPUT_LIMITS.maxLineBytes;
  const quoted = options.quoted;
  const delimiter = options.delimiter.charCodeAt(0);
  let bom: boolean | null = null;
  let analyseUtf8 = options.encoding === 'auto';
  const utf8 = new Utf8Census(path);
  // The line being read and the one its row started on (they differ inside a quoted line break).
  let line = 1;
  let rowLine = 1;
  let rowBytes = 0;
  let state = CsvState.FieldStart;
  const tooLong = (): MalformedLineError =>
    new MalformedLineError(
      path,
      rowLine,
      `${quoted ? 'rows' : 'lines'} of at most ${describeBytes(maxLineBytes)}`,
      `a ${quoted ? 'row' : 'line'} longer than that${rowLine !== line ? ` (a quoted field running on to line ${line})` : ''}; reading stopped there`,
    );

  for await (const data of createReadStream(path)) {
    const chunk = data as Buffer;
    options.digest?.update(chunk);
    if (bom === null) {
      bom = chunk.length >= UTF8_BOM.length && UTF8_BOM.every((byte, i) => chunk[i] === byte);
      if (bom) analyseUtf8 = true;
    }
    if (!quoted || (state !== CsvState.Quoted && state !== CsvState.QuoteInQuoted && chunk.indexOf(QUOTE) === -1)) {
      // Fast path: rows are lines, found by the native indexOf.
      let at = 0;
      while (true) {
        const newline = chunk.indexOf(NEWLINE, at);
        rowBytes += (newline === -1 ? chunk.length : newline) - at;
        if (rowBytes > maxLineBytes) throw tooLong();
        if (newline === -1) break;
        line++;
        rowLine = line;
        rowBytes = 0;
        at = newline + 1;
      }
      // Where the chunk leaves the row: at a field's start after a line break or delimiter, else inside one.
      const lastBreak = Math.max(chunk.lastIndexOf(NEWLINE), chunk.lastIndexOf(delimiter));
      if (lastBreak === chunk.length - 1) state = CsvState.FieldStart;
      else if (chunk.length > 0) state = CsvState.Unquoted;
    } else {
      // RFC 4180: a quote opens a field only at its start; inside, "" is a quote and a line break is data.
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i];
        if (byte === NEWLINE) {
          line++;
          if (state !== CsvState.Quoted) {
            rowLine = line;
            rowBytes = 0;
            state = CsvState.FieldStart;
            continue;
          }
        }
        if (++rowBytes > maxLineBytes) throw tooLong();
        if (state === CsvState.Quoted) {
          if (byte === QUOTE) state = CsvState.QuoteInQuoted;
        } else if (state === CsvState.QuoteInQuoted) {
          state = byte === QUOTE ? CsvState.Quoted : byte === delimiter ? CsvState.FieldStart : CsvState.Unquoted;
        } else if (byte === delimiter) state = CsvState.FieldStart;
        else if (state === CsvState.FieldStart) state = byte === QUOTE ? CsvState.Quoted : CsvState.Unquoted;
      }
    }
    if (analyseUtf8) {
      utf8.add(chunk);
      if (utf8.invalid && (bom || utf8.multibyte)) throw utf8.mixedError(bom === true);
    }
  }
  if (analyseUtf8) {
    utf8.end();
    if (utf8.invalid && bom) throw utf8.mixedError(true);
  }
  const start = bom ? UTF8_BOM.length : 0;
  if (bom) return { encoding: 'utf8', start };
  if (options.encoding !== 'auto') return { encoding: options.encoding, start };
  return { encoding: utf8.invalid ? 'latin1' : 'utf8', start };
}

/** Where a byte sits, with a bit of its line for the message. */
interface BytePlace {
  line: number;
  byte: number;
  text: string;
}

/**
 * A streamed UTF-8 validator that remembers the first byte that is not UTF-8 and the first well-formed
 * multi-byte character: a file with both mixes encodings. (Latin-1 text almost never contains a valid
 * multi-byte sequence: that needs a byte 0xC2–0xF4 followed by bytes 0x80–0xBF, mostly C1 control codes.)
 */
class Utf8Census {
  invalid: BytePlace | null = null;
  multibyte: BytePlace | null = null;
  private line = 1;
  /** Continuation bytes still expected, and the range the next one must fall in (RFC 3629). */
  private need = 0;
  private low = 0x80;
  private high = 0xbf;
  private sequenceLine = 1;
  private sequenceByte = 0;
  /** Where the current sequence starts, decoded only for a message. */
  private sequenceChunk: Buffer = Buffer.alloc(0);
  private sequenceAt = 0;
  /** findMultibyte: the previous chunk's trailing bytes ≥ 0x80, as latin-1 characters. */
  private tail = '';

  constructor(private readonly path: string) {}

  add(chunk: Buffer): void {
    // Native checks first: most chunks are ASCII, or whole UTF-8 (the file's first multi-byte character is
    // then located once); latin-1 files go to a native regex once their first non-UTF-8 byte is found.
    if (this.need === 0 && isAscii(chunk)) {
      this.line += countNewlines(chunk, 0);
      return;
    }
    if (this.invalid !== null && this.multibyte === null) {
      this.findMultibyte(chunk, 0);
      return;
    }
    if (this.invalid === null && this.need === 0 && isUtf8(chunk)) {
      if (this.multibyte === null) {
        const at = chunk.findIndex((byte) => byte >= 0x80);
        const line = this.line + countNewlines(chunk.subarray(0, at), 0);
        this.multibyte = { line, byte: chunk[at], text: snippet(chunk, at, 'utf8') };
      }
      this.line += countNewlines(chunk, 0);
      return;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.need > 0) {
        if (byte >= this.low && byte <= this.high) {
          this.low = 0x80;
          this.high = 0xbf;
          if (--this.need === 0 && this.multibyte === null) {
            this.multibyte = { line: this.sequenceLine, byte: this.sequenceByte, text: this.sequenceSnippet('utf8') };
          }
          continue;
        }
        this.markInvalid();
        // The byte that broke the sequence starts afresh.
        if (this.multibyte === null) return this.findMultibyte(chunk, i);
      }
      if (byte === NEWLINE) this.line++;
      if (byte < 0x80) continue;
      this.sequenceLine = this.line;
      this.sequenceByte = byte;
      this.sequenceChunk = chunk;
      this.sequenceAt = i;
      this.low = 0x80;
      this.high = 0xbf;
      if (byte >= 0xc2 && byte <= 0xdf) this.need = 1;
      else if (byte >= 0xe0 && byte <= 0xef) {
        this.need = 2;
        if (byte === 0xe0) this.low = 0xa0;
        if (byte === 0xed) this.high = 0x9f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        this.need = 3;
        if (byte === 0xf0) this.low = 0x90;
        if (byte === 0xf4) this.high = 0x8f;
      } else {
        this.markInvalid();
        if (this.multibyte === null) return this.findMultibyte(chunk, i + 1);
      }
    }
  }

  /**
   * Once a byte that is not UTF-8 was found, all that is left to learn is whether the file also holds a
   * well-formed multi-byte character: a native regex over the bytes read as latin-1 (one char per byte).
   * A character split across two chunks is found through the carried tail of the previous one.
   */
  private findMultibyte(chunk: Buffer, from: number): void {
    const carried = this.tail.length;
    const text = this.tail + chunk.toString('latin1', from);
    const match = UTF8_MULTIBYTE.exec(text);
    if (match) {
      const at = Math.max(from, from + match.index - carried);
      const line = this.line + countNewlines(chunk.subarray(from, at), 0);
      this.multibyte = { line, byte: text.charCodeAt(match.index), text: snippet(chunk, at, 'utf8') };
    }
    this.line += countNewlines(chunk, from);
    // Up to 3 trailing bytes that could begin a character finished by the next chunk (never a newline).
    const trailing = /[\x80-\xff]{1,3}$/.exec(text);
    this.tail = trailing ? trailing[0] : '';
  }

  /** A sequence cut short by the end of the file is not UTF-8 either. */
  end(): void {
    if (this.need > 0) this.markInvalid();
  }

  mixedError(bom: boolean): MalformedLineError {
    const invalid = this.invalid as BytePlace;
    const hex = `0x${invalid.byte.toString(16).toUpperCase().padStart(2, '0')}`;
    const elsewhere = bom
      ? 'UTF-8, as the byte-order mark at the start of the file says'
      : `UTF-8 throughout, as the rest of the file is (line ${(this.multibyte as BytePlace).line} is UTF-8: ${quoteForMessage((this.multibyte as BytePlace).text)})`;
    return new MalformedLineError(
      this.path,
      invalid.line,
      elsewhere,
      `byte ${hex}, which is not UTF-8 (as latin-1 the line reads ${quoteForMessage(invalid.text)}): the file mixes encodings; save it all as UTF-8`,
    );
  }

  private markInvalid(): void {
    this.need = 0;
    this.low = 0x80;
    this.high = 0xbf;
    if (this.invalid === null) this.invalid = { line: this.sequenceLine, byte: this.sequenceByte, text: this.sequenceSnippet('latin1') };
  }

  private sequenceSnippet(encoding: TextEncoding): string {
    return snippet(this.sequenceChunk, this.sequenceAt, encoding);
  }
}

/** A well-formed UTF-8 multi-byte character (RFC 3629), its bytes read as latin-1 characters. */
const UTF8_MULTIBYTE =
  /[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}/;

function countNewlines(bytes: Buffer, from: number): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE, from); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/** Up to 40 bytes either side of `at`, within its line, decoded for a message. */
function snippet(chunk: Buffer, at: number, encoding: TextEncoding): string {
  let from = Math.max(0, at - 40);
  const before = chunk.lastIndexOf(NEWLINE, at);
  if (before >= from) from = before + 1;
  let to = Math.min(chunk.length, at + 40);
  const after = chunk.indexOf(NEWLINE, at);
  if (after !== -1 && after < to) to = after;
  return chunk.toString(encoding, from, to).replace(/\r$/, '');
}
