/**
 * External ids (MovieLens user and movie ids, ids in URLs and CSV files): non-negative integers of at most
 * 15 digits, so every one is exactly representable as a JavaScript number. One pattern for every parser.
 */
export const ID_PATTERN = /^[0-9]{1,15}$/;
