/**
 * Errors raised while reading data files. Each says what was wrong, where (file and 1-based line) and what
 * was expected, so a user can open the file at that line and fix it.
 */

/** A line of a data file that does not have the expected shape. */
export class MalformedLineError extends Error {
  override readonly name = 'MalformedLineError';

  constructor(
    readonly file: string,
    /** 1-based line number in the file. */
    readonly line: number,
    /** What the line should have been, e.g. "4 tab-separated fields: user id, item id, rating, timestamp". */
    readonly expected: string,
    /** What was found instead (short, already quoted as needed). */
    readonly found: string,
  ) {
    super(`${file}:${line}: expected ${expected}, found ${found}`);
  }
}

/**
 * The rule both ratings readers share: blank lines may only end a file. `blankLine` is the first blank
 * line of a run that data followed.
 */
export function blankLineBeforeData(file: string, blankLine: number): MalformedLineError {
  return new MalformedLineError(file, blankLine, 'a data line (blank lines are allowed only at the end of the file)', 'an empty line');
}

/** A data folder that is missing or holds no known MovieLens layout. */
export class DataFolderError extends Error {
  override readonly name = 'DataFolderError';

  constructor(
    readonly folder: string,
    message: string,
  ) {
    super(message);
  }
}

/** Shortens and quotes a raw line or field for an error message. */
export function quoteForMessage(text: string, maxLength = 80): string {
  const shown = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  return JSON.stringify(shown);
}
