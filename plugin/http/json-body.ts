import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * JSON bodies up to 1 MiB. Non-strict so a downlink payload may be any JSON value; a request
 * without Content-Type is read as JSON too (curl users forget the header).
 */
export function jsonBody() {
  return bodyParser({
    enableTypes: ['json'],
    jsonStrict: false,
    jsonLimit: BODY_LIMIT_BYTES,
    detectJSON: (ctx: Context) => !ctx.request.type,
  });
}

/** True when the request carried no body at all (bodyparser turns that into `{}`). */
export function bodyIsEmpty(ctx: Context): boolean {
  const raw = (ctx.request as { rawBody?: string }).rawBody;
  return raw === undefined || raw.trim() === '';
}
