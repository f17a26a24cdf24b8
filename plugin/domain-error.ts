/**
 * What the domain (pipeline, networks, profiles, store callers) raises when a request cannot be
 * served: a kind, a stable code, a message and details. The HTTP edge (http/errors.ts) turns the
 * kind into a status and the error into the one error shape; nothing below routes/ and http/
 * knows HTTP.
 */
export const DOMAIN_ERROR_STATUS = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  upstream: 502,
  unavailable: 503,
} as const;

export type DomainErrorKind = keyof typeof DOMAIN_ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** What the edge should add to its answer, e.g. WWW-Authenticate. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string): DomainError => new DomainError('not_found', 'not_found', `${what} '${id}' not found`, { [what]: id });
