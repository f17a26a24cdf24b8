import type { JsonObject } from './types.js';

/** The plugin's error shape `{error: {code, message, details}}`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: JsonObject = {},
  ) {
    super(message);
  }
}

export async function errorFrom(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: JsonObject } };
    if (body.error?.code) return new ApiError(res.status, body.error.code, body.error.message ?? body.error.code, body.error.details ?? {});
  } catch {
    // not our JSON error shape; fall through
  }
  return new ApiError(res.status, `http_${res.status}`, `${res.status} ${res.statusText || 'error'}`);
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
}
