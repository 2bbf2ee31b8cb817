/**
 * What identifies a data set whatever path it is read from: its fingerprint, a SHA-256 of its layout and
 * of its movie files (the catalog the ratings refer to).
 *
 * - A MovieLens folder: the layout, then each movie file (u.genre + u.item, movies.dat, movies.csv) as
 *   bytes, each preceded by its name and length. The same folder reached through a symlink, copied or
 *   moved gives the same fingerprint. Hashed as the files are read (their first pass, delimitedFile.ts):
 *   they are a few MB at most, so this costs milliseconds even for MovieLens 25M.
 * - A catalog built in code (the demo generator, tests): its layout and source name, which says what it
 *   is ("demo:seed=0,…" names the generator and its options). Such catalogs are imported in parts under one
 *   name (a few items added, a rating changed), so their items cannot identify them.
 *
 * The ratings are left out on purpose: the same catalog with more ratings (the folder after ratings were
 * appended, another split of the same export) is the same data set to merge into, not another one whose
 * import should delete what was written through the API. The price: a newer export whose movie file
 * changed counts as another data set; the importer then asks for --merge or --replace (catalogImport.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import type { CatalogLayout } from './catalog.js';

/** The running digest of a folder's movie files: feed it with `addFile`, then `fingerprintOf`. */
export function movieFilesDigest(layout: CatalogLayout): Hash {
  return createHash('sha256').update(`movielens ${layout}\n`);
}

/** Marks the start of one file (its role and length) in a movie-files digest; the bytes follow. */
export function addFile(digest: Hash, name: string, bytes: number): Hash {
  return digest.update(`${name} ${bytes}\n`);
}

export function fingerprintOf(digest: Hash): string {
  return `sha256:${digest.digest('hex')}`;
}

/** The fingerprint of a catalog built in code, from its layout and source name. */
export function namedFingerprint(layout: CatalogLayout, source: string): string {
  return fingerprintOf(createHash('sha256').update(`named ${layout}\n${source}`));
}
