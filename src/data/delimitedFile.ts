/**
 * Streams a delimited text file row by row through papaparse, tracking 1-based line numbers so every
 * parser above it can report "file:line: expected …". The file is never read whole: papaparse parses the
 * read stream's chunks as they arrive (64 KiB each), so memory stays flat however large the file.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import Papa from 'papaparse';
import { MalformedLineError, quoteForMessage } from './errors.js';

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
   * Text encoding. 'auto' decodes as UTF-8 when the bytes are valid UTF-8 and as ISO-8859-1 otherwise:
   * 100K's u.item and 1M's movies.dat are latin-1, the newer files UTF-8. A UTF-8 byte-order mark always
   * wins, and is skipped.
   */
  encoding: TextEncoding | 'auto';
  /** Called after each chunk with the bytes read so far (for progress bars). */
  onBytes?: (bytesRead: number) => void;
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
  const { encoding, start } = await chooseEncoding(path, options.encoding);
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
        if (pendingBlankLine !== 0) {
          throw new MalformedLineError(
            path,
            pendingBlankLine,
            'a data line (blank lines are allowed only at the end of the file)',
            'an empty line',
          );
        }
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

async function chooseEncoding(
  path: string,
  requested: TextEncoding | 'auto',
): Promise<{ encoding: TextEncoding; start: number }> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(UTF8_BOM.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead === UTF8_BOM.length && UTF8_BOM.every((byte, i) => head[i] === byte)) {
      return { encoding: 'utf8', start: UTF8_BOM.length };
    }
  } finally {
    await handle.close();
  }
  if (requested !== 'auto') return { encoding: requested, start: 0 };
  return { encoding: (await isValidUtf8(path)) ? 'utf8' : 'latin1', start: 0 };
}

/**
 * Whether the whole file is valid UTF-8, checked as a stream. Latin-1 text with accented letters is almost
 * never valid UTF-8 (an "é" byte 0xE9 must be followed by two continuation bytes), so this tells the two
 * apart reliably. Only item and user files are checked; they are a few megabytes at most.
 */
async function isValidUtf8(path: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(path)) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}
