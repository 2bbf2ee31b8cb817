/**
 * Title helpers shared by the parsers, the demo generator and the store.
 */

// The release year is the last "(YYYY)" in a MovieLens title. It is not always at the very end: 100K has
// "Land Before Time III: … (1995) (V)", latest has series spans like "(1994-1998)".
const YEAR_IN_PARENS = /\((\d{4})(?:[-–]\d{0,4})?\)/g;

/** Plausible release years; anything else in parentheses is part of the title, not a year. */
const FIRST_FILM_YEAR = 1874;
const LAST_PLAUSIBLE_YEAR = 2100;

/**
 * Splits "Toy Story (1995)" into the title (kept whole, only trimmed: MovieLens has stray trailing spaces)
 * and its year (null when the title has none, e.g. 100K's item 267 "unknown").
 */
export function splitTitleYear(rawTitle: string): { title: string; year: number | null } {
  const title = rawTitle.trim();
  let year: number | null = null;
  for (const match of title.matchAll(YEAR_IN_PARENS)) {
    const candidate = Number(match[1]);
    if (candidate >= FIRST_FILM_YEAR && candidate <= LAST_PLAUSIBLE_YEAR) year = candidate;
  }
  return { title, year };
}

/**
 * The form titles are searched in: lower case, accents stripped (NFD splits "é" into "e" + U+0301, and the
 * combining marks are dropped), runs of whitespace collapsed. "Misérables" → "miserables", so a user
 * typing without accents still finds it. Queries go through the same function.
 */
export function searchKeyOf(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

// MovieLens moves a leading article to the end: "Matrix, The (1999)", "Misérables, Les (1995)".
const TRAILING_ARTICLE = /^(.*), (the|a|an|les|la|le|l'|il|el|los|las|das|der|die|den|det) (\(.*)$/i;

/**
 * The key an item is searched by: its title's search form, plus, when MovieLens moved an article to the
 * end, the natural word order on a second line ("matrix, the (1999)\nthe matrix (1999)"), so "the matrix"
 * finds it too. Queries never contain a newline (searchKeyOf collapses whitespace), so no match spans both.
 */
export function itemSearchKey(title: string): string {
  const key = searchKeyOf(title);
  const moved = TRAILING_ARTICLE.exec(key);
  if (!moved) return key;
  const [, rest, article, year] = moved;
  return `${key}\n${article}${article.endsWith("'") ? '' : ' '}${rest} ${year}`;
}
