/**
 * Field checks shared by the MovieLens file readers. Each throws a MalformedLineError naming the file, the
 * line, the field and what it should have held.
 */
import { MalformedLineError, quoteForMessage } from './errors.js';

/** Where a field sits, for error messages. */
export interface FieldContext {
  file: string;
  line: number;
}

/** Describes a line shape, e.g. `4 tab-separated fields (user id, item id, rating, timestamp)`. */
export function describeLine(fieldNames: readonly string[], delimiterName: string): string {
  return `${fieldNames.length} ${delimiterName}-separated fields (${fieldNames.join(', ')})`;
}

export function expectFieldCount(
  fields: string[],
  count: number,
  lineShape: string,
  delimiter: string,
  where: FieldContext,
): void {
  if (fields.length !== count) {
    throw new MalformedLineError(
      where.file,
      where.line,
      lineShape,
      `${fields.length} field${fields.length === 1 ? '' : 's'}: ${quoteForMessage(fields.join(delimiter))}`,
    );
  }
}

const UNSIGNED_INTEGER = /^\d{1,15}$/;
// Decimal numbers as MovieLens writes ratings: "4", "3.5", "4.0". No signs, exponents or hex.
const DECIMAL = /^\d{1,6}(\.\d{1,6})?$/;

/** A non-negative integer id such as a user or movie id. */
export function parseId(field: string, fieldName: string, where: FieldContext): number {
  const text = field.trim();
  if (!UNSIGNED_INTEGER.test(text)) {
    throw new MalformedLineError(where.file, where.line, `${fieldName} to be a whole number`, quoteForMessage(field));
  }
  return Number(text);
}

/** A rating value: a plain decimal number ("4", "3.5"). */
export function parseRatingValue(field: string, where: FieldContext): number {
  const text = field.trim();
  if (!DECIMAL.test(text)) {
    throw new MalformedLineError(
      where.file,
      where.line,
      'rating to be a number such as 4 or 3.5',
      quoteForMessage(field),
    );
  }
  return Number(text);
}

/** Seconds since the Unix epoch. */
export function parseTimestamp(field: string, where: FieldContext): number {
  const text = field.trim();
  if (!UNSIGNED_INTEGER.test(text)) {
    throw new MalformedLineError(
      where.file,
      where.line,
      'timestamp to be whole seconds since 1970',
      quoteForMessage(field),
    );
  }
  return Number(text);
}

/** An optional whole number (an age): empty → null. */
export function parseOptionalInteger(field: string, fieldName: string, where: FieldContext): number | null {
  const text = field.trim();
  if (text === '') return null;
  return parseId(text, fieldName, where);
}

/** Checks a CSV header row against the expected column names (case and surrounding space ignored). */
export function expectHeader(fields: string[], expected: readonly string[], where: FieldContext): void {
  const matches =
    fields.length === expected.length &&
    fields.every((name, i) => name.trim().toLowerCase() === expected[i].toLowerCase());
  if (!matches) {
    throw new MalformedLineError(
      where.file,
      where.line,
      `the header row ${quoteForMessage(expected.join(','))}`,
      quoteForMessage(fields.join(',')),
    );
  }
}
