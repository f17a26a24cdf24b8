import { createHash as realCreateHash } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const hashes = vi.hoisted(() => ({ of: [] as string[] }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    createHash: (algorithm: string) => {
      const h = actual.createHash(algorithm);
      const update = h.update.bind(h);
      h.update = ((data: string) => {
        hashes.of.push(String(data));
        return update(data);
      }) as typeof h.update;
      return h;
    },
  };
});

const { bearerToken, matchesSecret, secretHash } = await import('../../plugin/http/secrets.js');

describe('Authorization: Bearer parsing', () => {
  it('takes the token after "Bearer" and one space', () => {
    expect(bearerToken('Bearer abc123')).toBe('abc123');
  });

  it('accepts several spaces or a tab between "Bearer" and the token', () => {
    expect(bearerToken('Bearer    abc123')).toBe('abc123');
    expect(bearerToken('Bearer\tabc123')).toBe('abc123');
  });

  it('needs whitespace between "Bearer" and the token', () => {
    expect(bearerToken('Bearerabc123')).toBeNull();
  });

  it('refuses text before "Bearer"', () => {
    expect(bearerToken('xBearer abc123')).toBeNull();
    expect(bearerToken('Basic Bearer abc123')).toBeNull();
    expect(bearerToken(' Bearer abc123')).toBeNull();
  });

  it('refuses a second word after the token', () => {
    expect(bearerToken('Bearer abc123 extra')).toBeNull();
    expect(bearerToken('Bearer abc 123')).toBeNull();
  });

  it('ignores trailing whitespace after the token', () => {
    expect(bearerToken('Bearer abc123   ')).toBe('abc123');
    expect(bearerToken('Bearer abc123\t')).toBe('abc123');
  });

  it('reads the scheme name case-insensitively', () => {
    expect(bearerToken('bearer abc123')).toBe('abc123');
    expect(bearerToken('BEARER abc123')).toBe('abc123');
    expect(bearerToken('bEaReR AbC123')).toBe('AbC123'); // the token keeps its case
  });

  it('has no token for a missing header, an empty one, or "Bearer" alone', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('')).toBeNull();
    expect(bearerToken('Bearer')).toBeNull();
    expect(bearerToken('Bearer ')).toBeNull();
    expect(bearerToken('Bearer    ')).toBeNull();
    expect(bearerToken('Basic abc123')).toBeNull();
  });
});

describe('presented-token hash cache', () => {
  const expected = realCreateHash('sha256').update('the-secret').digest();
  const hashCount = (token: string) => hashes.of.filter((d) => d === token).length;
  beforeEach(() => {
    hashes.of.length = 0;
  });

  it('hashes a token presented again only once, and still compares it', () => {
    expect(matchesSecret('cache-a', expected)).toBe(false);
    expect(matchesSecret('cache-a', expected)).toBe(false);
    expect(hashCount('cache-a')).toBe(1);
    expect(matchesSecret('the-secret', secretHash('the-secret'))).toBe(true);
    expect(matchesSecret('the-secret', secretHash('the-secret'))).toBe(true);
    expect(matchesSecret('the-secret', expected)).toBe(true);
  });

  it('keeps at most 256 tokens: the least recently presented one is dropped by the 257th', () => {
    matchesSecret('bound-first', expected);
    for (let i = 0; i < 255; i++) matchesSecret(`bound-a-${i}`, expected);
    matchesSecret('bound-first', expected); // 256 kept: still there
    expect(hashCount('bound-first')).toBe(1);
    for (let i = 0; i < 256; i++) matchesSecret(`bound-b-${i}`, expected);
    matchesSecret('bound-first', expected); // 256 newer tokens since: dropped
    expect(hashCount('bound-first')).toBe(2);
  });

  it('stays bounded after many distinct tokens', () => {
    matchesSecret('many-first', expected);
    for (let i = 0; i < 5000; i++) matchesSecret(`many-${i}`, expected);
    matchesSecret('many-first', expected);
    expect(hashCount('many-first')).toBe(2);
  });

  it('does not keep tokens longer than 256 characters', () => {
    const kept = 'k'.repeat(256);
    const long = 'l'.repeat(257);
    matchesSecret(kept, expected);
    matchesSecret(kept, expected);
    matchesSecret(long, expected);
    matchesSecret(long, expected);
    expect(hashCount(kept)).toBe(1);
    expect(hashCount(long)).toBe(2);
  });
});
