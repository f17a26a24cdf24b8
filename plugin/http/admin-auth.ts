import type { Context, Next } from 'koa';
import { HttpError } from './http-error.js';
import { bearerToken, matchesSecret, secretHash } from './secrets.js';

/** Guards the admin API: `Authorization: Bearer <admin token>`. */
export function adminAuth(adminToken: string) {
  const expected = secretHash(adminToken);
  return async function requireAdmin(ctx: Context, next: Next): Promise<void> {
    const token = bearerToken(ctx.get('authorization'));
    if (token === null || !matchesSecret(token, expected)) {
      throw new HttpError(401, 'unauthorized', 'missing or wrong admin token', {}, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    await next();
  };
}
