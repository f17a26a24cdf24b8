import { parse as parseJson } from '@hapi/bourne';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { TtsWebhooks } from '../networks/tts/tts-webhooks.js';
import { isWebhookPath } from '../routes/webhooks.js';
import { invalidJson } from './errors.js';
import { intakeAnswers } from './intake-answers.js';
import { BODY_LIMIT_BYTES } from './json-body.js';

/** Takes the request and answers it (true), or leaves it to Koa (false). */
export type Intake = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * TTS webhooks straight from node:http, in front of Koa. Webhooks are nearly all of a busy
 * plugin's traffic, and Koa's context, middleware chain and body parser cost more per webhook than
 * this whole intake (measured: see the README's performance section). It takes only the plain case,
 * a POST to a webhook path with a UTF-8 JSON body of a declared length within the limit, and
 * answers exactly as the Koa route would: same body parsing (bourne, BOM stripped), same handler,
 * same error shapes. Everything else (chunked or compressed bodies, other types or charsets, empty
 * or oversized bodies, other methods) goes on to Koa, which answers or refuses it as before.
 */
export function webhookIntake(deps: {
  webhooks: TtsWebhooks;
  logger: Logger;
  /** Told the status of each webhook it refuses (GET /metrics). */
  refused?: (status: number) => void;
}): Intake {
  return (req, res) => {
    if (req.method !== 'POST' || !plainJsonBody(req)) return false;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (!isWebhookPath(path)) return false;
    const { answer, fail } = intakeAnswers(res, path, deps);
    const chunks: Buffer[] = [];
    // A client that goes away mid-body gets no answer, and nothing of its webhook is handled.
    req.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
      // co-body's decoder drops a byte order mark; so does this.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      let body: unknown;
      try {
        body = parseJson(text, { protoAction: 'error' });
      } catch (err) {
        return fail(invalidJson(err instanceof Error ? err.message : String(err)));
      }
      deps.webhooks
        .handle({ body, rawBody: text, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '' })
        .then((a) => answer(a.status, a.body), fail);
    });
    return true;
  };
}

/**
 * A body of declared length (1 byte to the limit: a chunked body has none), not compressed, JSON in
 * UTF-8 or of no declared type.
 */
function plainJsonBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity') return false;
  const length = h['content-length'];
  if (length === undefined || !/^\d{1,7}$/.test(length)) return false;
  const bytes = Number(length);
  if (bytes === 0 || bytes > BODY_LIMIT_BYTES) return false;
  const type = h['content-type'];
  return type === undefined || PLAIN_JSON.test(type);
}

const PLAIN_JSON = /^\s*application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
