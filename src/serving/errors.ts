/**
 * What serving reports to its callers, as types rather than HTTP statuses: the server maps them to 4xx/5xx
 * answers, the batch scorer to bad-row reports.
 */
export { InvalidRatingError, UnknownItemError } from '../store/errors.js';

export class UnknownUserError extends Error {
  override readonly name = 'UnknownUserError';
  constructor(readonly userId: number) {
    super(`no user with id ${userId}`);
  }
}

/** No model version has been trained (or could be loaded) yet. */
export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
  constructor() {
    super('no trained model is available yet; run npm run train');
  }
}

/** Something the request named does not exist in the served model (e.g. a part it was not trained with). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A request the served model cannot answer as asked (e.g. ranking by predicted rating with a ranking-only model). */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/**
 * Every visitor-pool worker is busy and its queue is full (visitorPool.ts): the request is refused at once
 * rather than waiting, and the client is told to retry.
 */
export class VisitorPoolBusyError extends Error {
  override readonly name = 'VisitorPoolBusyError';
}
