/**
 * Base64 as TTS uses it for frm_payload: standard alphabet, padded.
 */

export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*$/;

/**
 * The canonical (padded) form of a standard base64 text, or undefined when the text is not base64.
 * Padding may be omitted; whitespace and the URL-safe alphabet are rejected, as TTS would.
 */
export function normalizeBase64(text: string): string | undefined {
  const body = text.replace(/={1,2}$/, '');
  const padding = text.length - body.length;
  if (!BASE64.test(body) || body.length % 4 === 1) return undefined;
  if (padding > 0 && (body.length + padding) % 4 !== 0) return undefined;
  return Buffer.from(body, 'base64').toString('base64');
}
