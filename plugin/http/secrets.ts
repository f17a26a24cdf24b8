import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random URL-safe token for webhooks and the admin API. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Constant-time comparison with a secret's hash; hashing makes the lengths equal so length does not leak either. */
export function matchesSecret(given: string, expectedHash: Buffer): boolean {
  return timingSafeEqual(secretHash(given), expectedHash);
}


/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
