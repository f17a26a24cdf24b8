import type { JsonObject } from '../../../formatters/contract.js';
import type { SendOutcome } from '../network.js';
import { PeerPost } from '../peer-post.js';
import { TtsUrlPolicy, UrlRefusedError, type UrlRefusal } from './push-urls.js';

export interface TtsDownlinkClientOptions {
  userAgent: string;
  timeoutMs: number;
  /** Where requests may go; without it, PLUGIN_TTS_HOSTS / PLUGIN_TTS_ALLOW_PRIVATE from the environment. */
  policy: TtsUrlPolicy;
  /** MAX_ANSWER_BYTES (peer-post.ts) unless given. */
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

function refusedOutcome(refusal: UrlRefusal): SendOutcome {
  return { ok: false, status: null, retryable: false, retryAfterMs: null, code: 'tts_url_refused', message: `downlink URL refused: ${refusal.message}` };
}

/**
 * Pushes to the X-Downlink-Push / X-Downlink-Replace URL captured from the device's webhook. The
 * answer is read up to a limit (PeerPost), the connection's DNS answer is checked by the policy, and
 * no redirect is followed.
 */
export class TtsDownlinkClient {
  readonly policy: TtsUrlPolicy;
  private readonly peer = new PeerPost();

  constructor(private readonly options: TtsDownlinkClientOptions) {
    this.policy = options.policy;
  }

  async send(url: string, apiKey: string, body: JsonObject): Promise<SendOutcome> {
    const target = this.policy.target(url);
    if (!target.ok) return refusedOutcome(target.refusal);
    const { timeoutMs } = this.options;
    const lookup = this.policy.lookupFor(target.url);
    const answer = await this.peer.post(target.url, Buffer.from(JSON.stringify(body)), {
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json', 'User-Agent': this.options.userAgent },
      timeoutMs,
      ...(lookup ? { lookup } : {}),
      ...(this.options.maxAnswerBytes !== undefined ? { maxAnswerBytes: this.options.maxAnswerBytes } : {}),
    });
    switch (answer.kind) {
      case 'invalid_request':
        // e.g. a key with characters no header may carry: TTS would never send such a key
        return { ok: false, status: null, retryable: false, retryAfterMs: null, code: 'tts_invalid_request', message: `the request could not be built: ${answer.message}` };
      case 'timeout':
        return { ok: false, status: null, retryable: true, retryAfterMs: null, code: 'tts_timeout', message: `TTS did not answer within ${timeoutMs} ms` };
      case 'unreachable': {
        if (answer.error instanceof UrlRefusedError) return refusedOutcome(answer.error.refusal);
        const why = answer.error instanceof Error ? answer.error.message : String(answer.error);
        return { ok: false, status: null, retryable: true, retryAfterMs: null, code: 'tts_unreachable', message: `TTS could not be reached: ${why}` };
      }
      case 'answered': {
        const { status } = answer;
        if (status >= 200 && status < 300) return { ok: true, status };
        const retryHeader = Number(answer.headers['x-rate-limit-retry']);
        return {
          ok: false,
          status,
          retryable: status === 429 || status >= 500,
          retryAfterMs: status === 429 && Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader * 1000 : null,
          ...ttsErrorMessage(status, answer.text, answer.truncated),
        };
      }
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.peer.close();
  }
}
