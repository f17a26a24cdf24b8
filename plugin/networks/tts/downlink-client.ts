import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { JsonObject } from '../../../formatters/contract.js';
import { TtsUrlPolicy, UrlRefusedError, type UrlRefusal } from './push-urls.js';

export type PushOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      /** HTTP status, or null when TTS could not be reached / timed out / the URL was refused. */
      status: number | null;
      /** 5xx, 429, network errors and timeouts are worth retrying; other 4xx and refused URLs are final. */
      retryable: boolean;
      /** From X-Rate-Limit-Retry (seconds) on 429. */
      retryAfterMs: number | null;
      code: string;
      message: string;
    };

/** What is read of a TTS answer at most; the rest is not read (the connection is dropped). */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface TtsDownlinkClientOptions {
  userAgent: string;
  timeoutMs: number;
  /** Where requests may go; without it, PLUGIN_TTS_HOSTS / PLUGIN_TTS_ALLOW_PRIVATE from the environment. */
  policy: TtsUrlPolicy;
  /** MAX_ANSWER_BYTES unless given. */
  maxAnswerBytes?: number;
}

const JSON_STRING = '"((?:[^"\\\\]|\\\\.)*)"';
const MESSAGE_FIELD = new RegExp(`"message"\\s*:\\s*${JSON_STRING}`);
const NAME_FIELD = new RegExp(`"name"\\s*:\\s*${JSON_STRING}`);

/** A JSON string literal's content, or null when it does not decode. */
function jsonString(content: string): string | null {
  try {
    return JSON.parse(`"${content}"`) as string;
  } catch {
    return null;
  }
}

/**
 * TTS error bodies are google.rpc.Status JSON: `{"code", "message": "error:ns:name (text)", "details"}`.
 * A truncated answer cannot be parsed whole: its `message` and first `details[].name` are taken
 * from what was read (TTS writes code, message, details in that order).
 */
export function ttsErrorMessage(status: number, text: string, truncated = false): { code: string; message: string } {
  if (!truncated) {
    try {
      const body = JSON.parse(text) as { message?: unknown; details?: { name?: unknown; namespace?: unknown }[] };
      const detail = body.details?.[0];
      const name = typeof detail?.name === 'string' ? detail.name : `http_${status}`;
      if (typeof body.message === 'string') return { code: `tts_${name}`, message: body.message };
    } catch {
      // not JSON: fall through to the status text
    }
  } else if (text.trimStart().startsWith('{')) {
    const message = MESSAGE_FIELD.exec(text);
    const decoded = message ? jsonString(message[1]) : null;
    if (decoded !== null) {
      const details = text.indexOf('"details"', message!.index);
      const name = details >= 0 ? NAME_FIELD.exec(text.slice(details)) : null;
      const decodedName = name ? jsonString(name[1]) : null;
      return { code: `tts_${decodedName !== null && /^[a-z0-9_]{1,100}$/.test(decodedName) ? decodedName : `http_${status}`}`, message: decoded.slice(0, 1000) };
    }
  }
  if (status === 406) return { code: 'tts_webhook_paused', message: 'TTS answered 406: the webhook is paused' };
  return { code: `tts_http_${status}`, message: `TTS answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}${truncated ? ' (answer too long, cut)' : ''}` };
}

function refusedOutcome(refusal: UrlRefusal): PushOutcome {
  return { ok: false, status: null, retryable: false, retryAfterMs: null, code: 'tts_url_refused', message: `downlink URL refused: ${refusal.message}` };
}

/**
 * Pushes to the X-Downlink-Push / X-Downlink-Replace URL captured from the device's webhook.
 * node:http directly: the answer is read up to a limit and the connection dropped after it, the
 * connection's DNS answer is checked by the policy, and no redirect is followed.
 */
export class TtsDownlinkClient {
  readonly policy: TtsUrlPolicy;
  private readonly maxAnswerBytes: number;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(private readonly options: TtsDownlinkClientOptions) {
    this.policy = options.policy;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  }

  send(url: string, apiKey: string, body: JsonObject): Promise<PushOutcome> {
    const target = this.policy.target(url);
    if (!target.ok) return Promise.resolve(refusedOutcome(target.refusal));
    const payload = Buffer.from(JSON.stringify(body));
    const { timeoutMs } = this.options;
    const https = target.url.protocol === 'https:';
    const lookup = this.policy.lookupFor(target.url);

    return new Promise<PushOutcome>((resolve) => {
      let settled = false;
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      /** Set once the status line is in: from then on the status decides, whatever breaks off. */
      let finishAnswer: (() => void) | null = null;
      const settle = (outcome: PushOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const failed = (err: unknown) => {
        if (finishAnswer) return finishAnswer();
        if (err instanceof UrlRefusedError) return settle(refusedOutcome(err.refusal));
        settle({
          ok: false,
          status: null,
          retryable: true,
          retryAfterMs: null,
          code: timedOut ? 'tts_timeout' : 'tts_unreachable',
          message: timedOut
            ? `TTS did not answer within ${timeoutMs} ms`
            : `TTS could not be reached: ${err instanceof Error ? err.message : String(err)}`,
        });
      };
      const answered = (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        // Decided by the status with what was read: at the end, at the limit, or when the answer breaks off.
        const done = () => {
          if (settled) return;
          if (status >= 200 && status < 300) return settle({ ok: true, status });
          const text = Buffer.concat(chunks, size).toString('utf8');
          const retryHeader = Number(res.headers['x-rate-limit-retry']);
          settle({
            ok: false,
            status,
            retryable: status === 429 || status >= 500,
            retryAfterMs: status === 429 && Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader * 1000 : null,
            ...ttsErrorMessage(status, text, truncated),
          });
        };
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          const room = this.maxAnswerBytes - size;
          if (chunk.length <= room) {
            chunks.push(chunk);
            size += chunk.length;
            return;
          }
          chunks.push(chunk.subarray(0, room));
          size += room;
          truncated = true;
          // Not read further: the connection goes, with whatever is still on its way.
          res.destroy();
          done();
        });
        finishAnswer = done;
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      };

      const request = https ? httpsRequest : httpRequest;
      let req: ReturnType<typeof httpRequest>;
      try {
        req = request(
          target.url,
          {
            method: 'POST',
            agent: https ? this.httpsAgent : this.httpAgent,
            headers: {
              Authorization: `Bearer ${apiKey}`,
              'Content-Type': 'application/json',
              'Content-Length': payload.length,
              'User-Agent': this.options.userAgent,
            },
            ...(lookup ? { lookup } : {}),
          },
          answered,
        );
      } catch (err) {
        // e.g. a key with characters no header may carry: TTS would never send such a key
        return settle({ ok: false, status: null, retryable: false, retryAfterMs: null, code: 'tts_invalid_request', message: `the request could not be built: ${err instanceof Error ? err.message : String(err)}` });
      }
      req.on('error', failed);
      timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      }, timeoutMs);
      req.end(payload);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
