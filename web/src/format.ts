/** Text formatting shared by the views: ratings, titles, counts, percentages. */

/** "4", "4.5", "0.5": a rating level as written on the scale. */
export function formatLevel(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** "1 star", "4 stars", "0.5 stars": a rating value as read aloud. */
export function starsLabel(value: number): string {
  return `${formatLevel(value)} ${value === 1 ? 'star' : 'stars'}`;
}

/** A predicted (expected) rating: one decimal. */
export const formatPredicted = (value: number): string => value.toFixed(1);

export const formatPercent = (p: number): string => `${Math.round(p * 100)}%`;

export const formatCount = (n: number): string => n.toLocaleString('en-US');

const TRAILING_YEAR = /\s*\((\d{4})\)\s*$/;
const TRAILING_ARTICLE = /^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$/;

/**
 * The title for display: the year is shown separately, so a trailing "(1995)" is dropped, and MovieLens's
 * library-style "Usual Suspects, The" is turned back into "The Usual Suspects".
 */
export function displayTitle(title: string): string {
  let text = title.replace(TRAILING_YEAR, '').trim();
  // Also handles "Misérables, Les (1995)" and titles with an "(a.k.a. …)" after the article.
  const akaIndex = text.indexOf(' (');
  const head = akaIndex > 0 ? text.slice(0, akaIndex) : text;
  const tail = akaIndex > 0 ? text.slice(akaIndex) : '';
  const match = TRAILING_ARTICLE.exec(head);
  if (match) text = `${match[2]}${match[2].endsWith("'") ? '' : ' '}${match[1]}${tail}`;
  return text === '' ? title : text;
}

/** Standard deviation of a distribution over the rating levels: how unsure the prediction is. */
export function spread(distribution: readonly number[], levels: readonly number[]): number {
  if (distribution.length !== levels.length || distribution.length === 0) return NaN;
  let mean = 0;
  let total = 0;
  for (let k = 0; k < levels.length; k++) {
    mean += distribution[k] * levels[k];
    total += distribution[k];
  }
  if (!(total > 0)) return NaN;
  mean /= total;
  let variance = 0;
  for (let k = 0; k < levels.length; k++) variance += (distribution[k] / total) * (levels[k] - mean) ** 2;
  return Math.sqrt(variance);
}

/** A timestamp (milliseconds since the epoch, or an ISO string) as a readable date and time. */
export function formatDate(value: number | string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
