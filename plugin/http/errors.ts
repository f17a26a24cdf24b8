import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { errorShapeFor } from './error-shapes.js';
import { HttpError } from './http-error.js';

interface FrameworkError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

/** Errors thrown by body parsing (raw-body / co-body) carry a status and a type. */
function fromFrameworkError(err: FrameworkError): HttpError | null {
  const status = err.status ?? err.statusCode;
  if (!status || status < 400 || status > 499) return null;
  if (status === 413) return new HttpError(413, 'payload_too_large', 'request body exceeds the size limit');
  if (status === 415) return new HttpError(415, 'unsupported_media_type', 'send JSON with Content-Type: application/json');
  if (err.type === 'entity.parse.failed' || status === 400) {
    return new HttpError(400, 'invalid_json', 'request body is not valid JSON', { reason: err.message ?? '' });
  }
  return new HttpError(status, 'bad_request', err.expose && err.message ? err.message : 'bad request');
}

/** Maps every thrown error to the one JSON error shape; unknown errors become a 500 without internals. */
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
      const err =
        caught instanceof HttpError ? caught : fromFrameworkError(caught as FrameworkError);
      if (err) {
        ctx.status = err.status;
        ctx.set(err.headers);
        ctx.body = errorShapeFor(ctx.path)(err);
        return;
      }
      logger.error({ err: caught, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = errorShapeFor(ctx.path)(new HttpError(500, 'internal', 'internal error'));
    }
  };
}
