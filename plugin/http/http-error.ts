/** The one error shape every 4xx/5xx answer uses: {"error": {"code", "message", "details"}}. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string): HttpError =>
  new HttpError(404, 'not_found', `${what} '${id}' not found`, { [what]: id });
