/**
 * Typed store errors, so the server can map them to HTTP statuses without parsing messages.
 */

/** A rating or lookup named an item the catalog does not have. */
export class UnknownItemError extends Error {
  override readonly name = 'UnknownItemError';
  readonly code = 'UNKNOWN_ITEM';

  constructor(readonly itemId: number) {
    super(`unknown item ${itemId}: no item with this id in the catalog`);
  }
}

/** A rating value off the data set's scale (the RBM has one softmax unit per level). */
export class InvalidRatingError extends Error {
  override readonly name = 'InvalidRatingError';
  readonly code = 'INVALID_RATING';

  constructor(
    readonly value: number,
    readonly ratingLevels: readonly number[],
  ) {
    super(`rating ${value} is not on the data set's scale: expected one of ${ratingLevels.join(', ')}`);
  }
}

/** A model version id that is not in the database. */
export class UnknownModelVersionError extends Error {
  override readonly name = 'UnknownModelVersionError';
  readonly code = 'UNKNOWN_MODEL_VERSION';

  constructor(readonly versionId: number) {
    super(`unknown model version ${versionId}`);
  }
}

/** A model trained on a catalog that an import changed before the model could be saved. */
export class CatalogChangedError extends Error {
  override readonly name = 'CatalogChangedError';
  readonly code = 'CATALOG_CHANGED';

  constructor(
    readonly trainedGeneration: number,
    readonly currentGeneration: number,
  ) {
    super(
      `the catalog changed while training (an import moved it from generation ${trainedGeneration} to ${currentGeneration}); ` +
        'the model was not saved: train again',
    );
  }
}

/**
 * An import of another data set than the stored one, without `replace` or `merge`: replacing a catalog
 * deletes its users, items and ratings, so it is never done implicitly (the built-in demo catalog excepted,
 * unless it holds ratings written through the API). The message counts what would be lost.
 */
export class CatalogReplaceRefusedError extends Error {
  override readonly name = 'CatalogReplaceRefusedError';
  readonly code = 'CATALOG_REPLACE_REFUSED';

  constructor(
    readonly source: string,
    readonly storedSource: string,
    readonly apiUsers: number,
    readonly apiRatings: number,
    why: string,
    readonly storedRatings = 0,
  ) {
    super(
      `${source} is another data set than the one in the database (imported from ${storedSource}: ${why}); ` +
        (apiRatings > 0
          ? `replacing that catalog would delete ${count(apiRatings, 'rating')} written through the API by ${count(apiUsers, 'user')}. ` +
            'Nothing was changed. Import with --replace to replace the catalog anyway (those ratings are first exported to a CSV ' +
            'file beside the database), or with --merge if this folder is a newer export of the same catalog (a merge keeps them).'
          : `importing it would replace that catalog and its ${count(storedRatings, 'rating')}. ` +
            'Nothing was changed. Import with --replace to replace the catalog, or with --merge if this folder is a newer ' +
            'export of the same catalog.'),
    );
  }
}

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}
