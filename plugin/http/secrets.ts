import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** A random URL-safe token for webhooks and the admin API. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/**
 * Hashes of tokens presented lately: TTS sends the same one with every webhook, and hashing it is
 * most of the check's cost. Tokens are short; longer strings are hashed but not kept.
 */
const presented = new LRUCache<string, Buffer>({ max: 256 });
const MAX_KEPT_TOKEN_LENGTH = 256;

/** Constant-time comparison with a secret's hash; hashing makes the lengths equal so length does not leak either. */
export function matchesSecret(given: string, expectedHash: Buffer): boolean {
  let hash = presented.get(given);
  if (!hash) {
    hash = secretHash(given);
    if (given.length <= MAX_KEPT_TOKEN_LENGTH) presented.set(given, hash);
  }
  return timingSafeEqual(hash, expectedHash);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
