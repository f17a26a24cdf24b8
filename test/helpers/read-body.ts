import type { Readable } from 'node:stream';

/** A whole HTTP body: parsed JSON, the raw text when it is not JSON, null when empty. */
export async function readBody(stream: Readable): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
