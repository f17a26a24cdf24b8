import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { DOMAIN_ERROR_STATUS, DomainError } from '../domain-error.js';
import { errorShapeFor } from './error-shapes.js';
import { HttpError } from './http-error.js';

interface FrameworkError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
  code?: string;
}

export const invalidJson = (reason: string): HttpError =>
  new HttpError(400, 'invalid_json', 'request body is not valid JSON', { reason });

/** Errors thrown by body parsing (raw-body / co-body) carry a status and a type. */
function fromFrameworkError(err: FrameworkError): HttpError | null {
  // zlib's errors (a Content-Encoding the body does not match) carry no status.
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return new HttpError(400, 'invalid_body', 'the body does not decode with its Content-Encoding', { reason: err.code });
  }
  const status = err.status ?? err.statusCode;
  if (!status || status < 400 || status > 499) return null;
  if (status === 413) return new HttpError(413, 'payload_too_large', 'request body exceeds the size limit');
  if (status === 415) return new HttpError(415, 'unsupported_media_type', 'send JSON with Content-Type: application/json');
  if (err.type === 'entity.parse.failed' || status === 400) return invalidJson(err.message ?? '');
  return new HttpError(status, 'bad_request', err.expose && err.message ? err.message : 'bad request');
}

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/**
 * The answer for a thrown error, in the error shape of `path`; an unknown error becomes a 500
 * without internals and is logged. Shared by Koa's error handler and the webhook intake.
 */
export function errorAnswer(caught: unknown, path: string, logger: Logger): ErrorAnswer {
  const err =
    caught instanceof HttpError
      ? caught
      : caught instanceof DomainError
        ? new HttpError(DOMAIN_ERROR_STATUS[caught.kind], caught.code, caught.message, caught.details, caught.headers)
        : fromFrameworkError(caught as FrameworkError);
  if (err) return { status: err.status, headers: err.headers, body: errorShapeFor(path)(err) };
  logger.error({ err: caught, path }, 'unhandled error');
  return { status: 500, headers: {}, body: errorShapeFor(path)(new HttpError(500, 'internal', 'internal error')) };
}

/** Maps every thrown error to the one JSON error shape. */
export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      // allowedMethods() answers 405/501 in plain text; keep the one error shape.
      if ((ctx.status === 405 || ctx.status === 501) && (ctx.body === undefined || typeof ctx.body === 'string')) {
        throw new HttpError(ctx.status, ctx.status === 405 ? 'method_not_allowed' : 'not_implemented', `${ctx.method} is not allowed on ${ctx.path}`, {
          allow: ctx.response.get('Allow'),
        });
      }
    } catch (caught) {
      const answer = errorAnswer(caught, ctx.path, logger);
      ctx.status = answer.status;
      ctx.set(answer.headers);
      ctx.body = answer.body;
    }
  };
}
