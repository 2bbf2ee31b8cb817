/**
 * The page's client for the serving API (src/server). Every call goes to a relative `/api/...` URL, so the
 * page works wherever the server is mounted. Failures become `ApiError`s carrying the server's own
 * `{"error":{"code","message"}}`, or code "unreachable" when no answer came back at all.
 */
import type { HiddenUnitsResponse, ModelExplainResponse, UnitActivationsResponse } from '../../src/api/types.js';

export type {
  ExplainSample,
  HiddenUnitInfo,
  HiddenUnitsResponse,
  ModelExplainResponse,
  UnitActivationInfo,
  UnitActivationsResponse,
  UnitMovie,
} from '../../src/api/types.js';

import type {
  ErrorBody,
  GenresResponse,
  HealthResponse,
  Item,
  ItemPage,
  ItemSort,
  ModelResponse,
  PredictionsResponse,
  RatingInput,
  RecommendationsResponse,
  UserRatingsResponse,
  UserRecommendationsResponse,
  VisitorRecommendationsRequest,
} from '../../src/api/types.js';

// The server's own response types (src/api/types.ts): a field renamed there fails type-checking here.
export type {
  BecauseItem,
  CurvePoint,
  Item,
  ItemPage,
  ItemSort,
  Prediction,
  RatingInput,
  ScoredItem,
  UserRating,
} from '../../src/api/types.js';
export type Health = HealthResponse;
export type UserRatings = UserRatingsResponse;
export type ModelInfo = ModelResponse;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unreachable(): boolean {
    return this.code === 'unreachable';
  }
}

const UNREACHABLE_MESSAGE = 'The server could not be reached. Check that it is running, then try again.';

/**
 * The `error` of the API's error body (api/types.ts ErrorBody), checked on what came back before it is
 * believed; its code kept as any string, since a newer server may send one this page does not know.
 */
function errorOf(body: unknown): (Omit<ErrorBody['error'], 'code'> & { code: string }) | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const { error } = body;
  if (typeof error !== 'object' || error === null || !('code' in error) || !('message' in error)) return null;
  const { code, message } = error;
  return typeof code === 'string' && typeof message === 'string' ? { code, message } : null;
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init?.headers } });
  } catch {
    throw new ApiError(0, 'unreachable', UNREACHABLE_MESSAGE);
  }
  const text = await response.text().catch(() => '');
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = errorOf(body);
    if (error) throw new ApiError(response.status, error.code, error.message);
    // A proxy's HTML error page, or a server that is starting or stopping.
    const code = response.status >= 502 && response.status <= 504 ? 'unreachable' : 'error';
    throw new ApiError(
      response.status,
      code,
      code === 'unreachable' ? UNREACHABLE_MESSAGE : `The server answered ${response.status} ${response.statusText}.`,
    );
  }
  if (body === null) throw new ApiError(response.status, 'bad_response', `The server sent an empty or non-JSON answer to ${path}.`);
  return body as T;
}

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
};

export const api = {
  health: (): Promise<Health> => request<Health>('/api/health'),

  searchItems: (search: string, limit: number, offset = 0, sort?: ItemSort, genre?: string): Promise<ItemPage> =>
    request<ItemPage>(`/api/items${query({ search, genre, sort, limit, offset: offset || undefined })}`),

  item: (itemId: number): Promise<Item> => request<Item>(`/api/items/${itemId}`),

  genres: (): Promise<GenresResponse> => request<GenresResponse>('/api/genres'),

  visitorRecommendations: (ratings: RatingInput[], limit: number): Promise<RecommendationsResponse> =>
    request<RecommendationsResponse>('/api/recommendations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ratings, limit } satisfies VisitorRecommendationsRequest),
    }),

  userRatings: (userId: number): Promise<UserRatings> => request<UserRatings>(`/api/users/${userId}/ratings`),

  userRecommendations: (userId: number, limit: number): Promise<UserRecommendationsResponse> =>
    request(`/api/users/${userId}/recommendations${query({ limit })}`),

  userPredictions: (userId: number, itemIds: number[]): Promise<PredictionsResponse> =>
    request(`/api/users/${userId}/predictions${query({ items: itemIds.join(',') })}`),

  model: (): Promise<ModelInfo> => request<ModelInfo>('/api/model'),

  hiddenUnits: (): Promise<HiddenUnitsResponse> => request<HiddenUnitsResponse>('/api/model/hidden'),

  userActivations: (userId: number, limit: number): Promise<UnitActivationsResponse> =>
    request<UnitActivationsResponse>(`/api/model/hidden/activations${query({ user: userId, limit })}`),

  visitorActivations: (ratings: RatingInput[], limit: number): Promise<UnitActivationsResponse> =>
    request<UnitActivationsResponse>('/api/model/hidden/activations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ratings, limit } satisfies VisitorRecommendationsRequest),
    }),

  explain: (userId?: number): Promise<ModelExplainResponse> =>
    request<ModelExplainResponse>(`/api/model/explain${query({ user: userId })}`),
};
