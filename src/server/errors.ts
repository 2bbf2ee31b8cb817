/**
 * The API's one error shape, `{"error":{"code","message"}}`, and the middleware that produces it.
 *
 * Route code throws `ApiError` (or serving's typed errors, mapped here) for anything the client got wrong
 * (Express 5 forwards thrown errors and rejected promises to the error middleware). Errors raised by body-parser carry `status`/`type`/`expose`
 * and are mapped to the same shape, so malformed JSON is a 400 and an oversized body a 413 rather than
 * an HTML page. A database locked by another writer (an import, a training run saving its model) is a
 * 503 with Retry-After: the server's busy timeout is short on purpose (store/database.ts), the client
 * retries. Anything else is a bug on our side: logged with its stack, answered with a bare 500 that never
 * leaks the stack or the message.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ErrorBody, ErrorCode } from '../api/types.js';
import {
  BadRequestError,
  InvalidRatingError,
  ModelUnavailableError,
  NotFoundError,
  UnknownItemError,
  UnknownUserError,
  VisitorPoolBusyError,
} from '../serving/errors.js';
import { isDatabaseBusy, isDatabaseUnavailable } from '../store/busy.js';

/** Seconds a client is told to wait (Retry-After) when another writer holds the database. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'invalid_request', message);
export const unknownUser = (userId: number): ApiError => new ApiError(404, 'unknown_user', `no user with id ${userId}`);
export const unknownItem = (itemId: number): ApiError => new ApiError(404, 'unknown_item', `no item with id ${itemId}`);

function databaseBusy(): ApiError {
  return new ApiError(
    503,
    'database_busy',
    'the database is busy with another writer (an import or a model being saved); nothing was changed, try again shortly',
    { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
  );
}

/** The database server cannot be reached (down, restarting, overloaded): nothing was changed, try again. */
function databaseUnavailable(): ApiError {
  return new ApiError(
    503,
    'database_unavailable',
    'the database cannot be reached right now (it may be restarting); nothing was changed, try again shortly',
    { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
  );
}

/** For /api paths no router claimed: JSON 404 rather than Express's HTML "Cannot GET". */
export const apiNotFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`));
};

interface HttpErrorLike {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  message?: unknown;
}

/** Serving's typed errors → the API's statuses and codes. */
function fromServingError(err: unknown): ApiError | null {
  if (err instanceof UnknownUserError) return unknownUser(err.userId);
  if (err instanceof UnknownItemError) return unknownItem(err.itemId);
  if (err instanceof InvalidRatingError) return badRequest(err.message);
  if (err instanceof ModelUnavailableError) return new ApiError(503, 'model_unavailable', err.message);
  if (err instanceof NotFoundError) return new ApiError(404, 'not_found', err.message);
  if (err instanceof BadRequestError) return badRequest(err.message);
  if (err instanceof VisitorPoolBusyError)
    return new ApiError(503, 'server_busy', err.message, { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) });
  return null;
}

/** Translates body-parser / http-errors style errors (client mistakes) into ApiErrors; null otherwise. */
function fromHttpError(err: unknown): ApiError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as HttpErrorLike;
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : NaN;
  if (!(status >= 400 && status < 500)) return null;
  switch (e.type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', 'the request body is larger than the 100 kB limit');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'the request body must be UTF-8 JSON');
    default: {
      // Other 4xx from the HTTP layer (aborted request, bad Content-Length …): their messages are written
      // for clients (`expose`), so they can be passed on.
      const message = e.expose === true && typeof e.message === 'string' ? e.message : 'invalid request';
      return new ApiError(status, 'invalid_request', message);
    }
  }
}

export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      // Too late for a JSON body: let Express close the connection.
      next(err);
      return;
    }
    const apiError =
      err instanceof ApiError
        ? err
        : isDatabaseBusy(err)
          ? databaseBusy()
          : isDatabaseUnavailable(err)
            ? databaseUnavailable()
            : (fromServingError(err) ?? fromHttpError(err));
    if (apiError) {
      res.set(apiError.headers);
      res.status(apiError.status).json({ error: { code: apiError.code, message: apiError.message } } satisfies ErrorBody);
      return;
    }
    log(`internal error on ${req.method} ${req.originalUrl}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    res.status(500).json({ error: { code: 'internal_error', message: 'internal server error' } } satisfies ErrorBody);
  };
}
