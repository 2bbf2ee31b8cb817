/**
 * The page's client for the serving API (src/server). Every call goes to a relative `/api/...` URL, so the
 * page works wherever the server is mounted. Failures become `ApiError`s carrying the server's own
 * `{"error":{"code","message"}}`, or code "unreachable" when no answer came back at all.
 */
import type { HiddenUnitsResponse, ModelExplainResponse, UnitActivationsResponse } from '../../src/server/api-types.js';

export type {
  ExplainSample,
  HiddenUnitInfo,
  HiddenUnitsResponse,
  ModelExplainResponse,
  UnitActivationInfo,
  UnitActivationsResponse,
  UnitMovie,
} from '../../src/server/api-types.js';

export interface Item {
  itemId: number;
  /** The source title, year included ("Toy Story (1995)"). */
  title: string;
  year: number | null;
  genres: string[];
}

export interface ScoredItem extends Item {
  /** Expected rating Σ_k p_k · level_k. */
  predicted: number;
  /** p(rating = level_k), one probability per rating level (length K). */
  distribution: number[];
}

export interface Health {
  /** "ok", or "no_model" while the server has nothing to serve yet. */
  status: string;
  model: { version: number; kind: string; createdAt: string } | null;
  data?: { users?: number; items?: number; ratings?: number };
  backend?: string;
  /** The served model's rating scale, e.g. [1, 2, 3, 4, 5]; null without a model. */
  ratingLevels: number[] | null;
}

export interface ItemPage {
  items: Item[];
  total: number;
}

export interface RatingInput {
  itemId: number;
  rating: number;
}

export interface UserRating extends Omit<Item, 'title'> {
  /** Null for a rating of an item since removed from the catalog. */
  title: string | null;
  rating: number;
  /** Seconds since the epoch. */
  timestamp?: number;
}

export interface UserRatings {
  userId: number;
  ratings: UserRating[];
}

export interface Prediction {
  itemId: number;
  /** Null when the served model does not know the item (added to the catalog after training). */
  predicted: number | null;
  distribution: number[] | null;
  actual: number | null;
}

export interface CurvePoint {
  phase: string;
  epoch: number;
  trainRmse: number;
  validationRmse: number | null;
  [key: string]: unknown;
}

/**
 * `GET /api/model`. The hyperparameters, metrics and training record are whatever the trainer wrote for
 * the model's kind, so the page renders them generically and only relies on the curve's point shape.
 */
export interface ModelInfo {
  version: number;
  /** ISO 8601. */
  createdAt: string;
  kind: string;
  ratingLevels: number[];
  users?: number;
  items?: number;
  hyperparameters: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  curve: CurvePoint[] | null;
  training: Record<string, unknown> | null;
}

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
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (error && typeof error.message === 'string') {
      throw new ApiError(response.status, typeof error.code === 'string' ? error.code : 'error', error.message);
    }
    // A proxy's HTML error page, or a server that is starting or stopping.
    const code = response.status >= 502 && response.status <= 504 ? 'unreachable' : 'error';
    throw new ApiError(response.status, code, code === 'unreachable' ? UNREACHABLE_MESSAGE : `The server answered ${response.status} ${response.statusText}.`);
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

  searchItems: (search: string, limit: number, offset = 0): Promise<ItemPage> =>
    request<ItemPage>(`/api/items${query({ search, limit, offset: offset || undefined })}`),

  visitorRecommendations: (ratings: RatingInput[], limit: number): Promise<{ items: ScoredItem[] }> =>
    request<{ items: ScoredItem[] }>('/api/recommendations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ratings, limit }),
    }),

  userRatings: (userId: number): Promise<UserRatings> => request<UserRatings>(`/api/users/${userId}/ratings`),

  userRecommendations: (userId: number, limit: number): Promise<{ userId: number; items: ScoredItem[] }> =>
    request(`/api/users/${userId}/recommendations${query({ limit })}`),

  userPredictions: (userId: number, itemIds: number[]): Promise<{ userId: number; predictions: Prediction[] }> =>
    request(`/api/users/${userId}/predictions${query({ items: itemIds.join(',') })}`),

  model: (): Promise<ModelInfo> => request<ModelInfo>('/api/model'),

  hiddenUnits: (): Promise<HiddenUnitsResponse> => request<HiddenUnitsResponse>('/api/model/hidden'),

  userActivations: (userId: number, limit: number): Promise<UnitActivationsResponse> =>
    request<UnitActivationsResponse>(`/api/model/hidden/activations${query({ user: userId, limit })}`),

  visitorActivations: (ratings: RatingInput[], limit: number): Promise<UnitActivationsResponse> =>
    request<UnitActivationsResponse>('/api/model/hidden/activations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ratings, limit }),
    }),

  explain: (userId?: number): Promise<ModelExplainResponse> => request<ModelExplainResponse>(`/api/model/explain${query({ user: userId })}`),
};
