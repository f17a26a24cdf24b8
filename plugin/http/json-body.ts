import { bodyParser } from '@koa/bodyparser';
import type { Context, Next } from 'koa';
import { HttpError } from './http-error.js';
import { assertJsonDepth } from '../schemas/json-depth.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * JSON bodies up to 1 MiB, nested at most MAX_JSON_DEPTH levels. Non-strict so a downlink payload
 * may be any JSON value; a request without Content-Type is read as JSON too (curl users forget the
 * header). A body of another type is refused (415) rather than silently ignored.
 */
export function jsonBody() {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonStrict: false,
    jsonLimit: BODY_LIMIT_BYTES,
    detectJSON: (ctx: Context) => !ctx.request.type,
  });
  return async function parseJson(ctx: Context, next: Next): Promise<void> {
    const hasBody = (ctx.request.length ?? 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && ctx.request.type && !ctx.is('json', '+json')) {
      throw new HttpError(415, 'unsupported_media_type', `send JSON with Content-Type: application/json, not ${ctx.request.type}`);
    }
    await parse(ctx, async () => {
      assertJsonDepth(ctx.request.body);
      await next();
    });
  };
}

/** True when the request carried no body at all (bodyparser turns that into `{}`). */
export function bodyIsEmpty(ctx: Context): boolean {
  const raw = (ctx.request as { rawBody?: string }).rawBody;
  return raw === undefined || raw.trim() === '';
}
