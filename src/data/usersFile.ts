/**
 * Reads MovieLens demographics: 100K's u.user (id|age|gender|occupation|zip) and 1M's users.dat
 * (UserID::Gender::Age::Occupation::Zip-code, occupation as a code). 10M and later publish none.
 */
import type { UserRecord } from './catalog.js';
import { forEachDelimitedRow } from './delimitedFile.js';
import type { CatalogFileOptions } from './itemsFile.js';
import { describeLine, expectFieldCount, parseId, parseOptionalInteger, type FieldContext } from './fields.js';
import { ML1M_OCCUPATIONS, USERS_FORMAT } from './layouts.js';

const FIELDS_100K = ['user id', 'age', 'gender', 'occupation', 'zip code'];
const FIELDS_1M = ['user id', 'gender', 'age group', 'occupation code', 'zip code'];

export async function readUsersFile(
  path: string,
  layout: '100k' | 'dat',
  onBytes?: (bytes: number) => void,
  options: CatalogFileOptions = {},
): Promise<UserRecord[]> {
  const format = USERS_FORMAT[layout];
  const names = layout === '100k' ? FIELDS_100K : FIELDS_1M;
  const lineShape = describeLine(names, format.delimiterName);
  const users: UserRecord[] = [];
  await forEachDelimitedRow(
    path,
    { delimiter: format.delimiter, quoted: false, encoding: 'auto', onBytes, maxLineBytes: options.limits?.maxLineBytes },
    (fields, line) => {
      const where: FieldContext = { file: path, line };
      expectFieldCount(fields, names.length, lineShape, format.delimiter, where);
      const userId = parseId(fields[0], 'user id (field 1)', where);
      const text = (field: string): string | null => (field.trim() === '' ? null : field.trim());
      if (layout === '100k') {
        users.push({
          userId,
          age: parseOptionalInteger(fields[1], 'age (field 2)', where),
          gender: text(fields[2]),
          occupation: text(fields[3]),
          zipCode: text(fields[4]),
        });
      } else {
        // 1M's age is the lower bound of an age group (1 = under 18, 18 = 18–24, …); kept as published.
        const occupationCode = parseOptionalInteger(fields[3], 'occupation code (field 4)', where);
        users.push({
          userId,
          age: parseOptionalInteger(fields[2], 'age group (field 3)', where),
          gender: text(fields[1]),
          occupation: occupationCode === null ? null : (ML1M_OCCUPATIONS[occupationCode] ?? String(occupationCode)),
          zipCode: text(fields[4]),
        });
      }
    },
  );
  return users;
}
