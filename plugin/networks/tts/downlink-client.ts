import type { JsonObject } from '../../../formatters/contract.js';

export type PushOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      /** HTTP status, or null when TTS could not be reached / timed out. */
      status: number | null;
      /** 5xx, 429, network errors and timeouts are worth retrying; other 4xx are final. */
      retryable: boolean;
      /** From X-Rate-Limit-Retry (seconds) on 429. */
      retryAfterMs: number | null;
      code: string;
      message: string;
    };

export interface TtsDownlinkClientOptions {
  userAgent: string;
  timeoutMs: number;
}

/** TTS error bodies are google.rpc.Status JSON: `{"code", "message": "error:ns:name (text)", "details"}`. */
function ttsErrorMessage(status: number, text: string): { code: string; message: string } {
  try {
    const body = JSON.parse(text) as { message?: unknown; details?: { name?: unknown; namespace?: unknown }[] };
    const detail = body.details?.[0];
    const name = typeof detail?.name === 'string' ? detail.name : `http_${status}`;
    if (typeof body.message === 'string') return { code: `tts_${name}`, message: body.message };
  } catch {
    // not JSON: fall through to the status text
  }
  if (status === 406) return { code: 'tts_webhook_paused', message: 'TTS answered 406: the webhook is paused' };
  return { code: `tts_http_${status}`, message: `TTS answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}` };
}

/** Pushes to the X-Downlink-Push / X-Downlink-Replace URL captured from the device's webhook. */
export class TtsDownlinkClient {
  constructor(private readonly options: TtsDownlinkClientOptions) {}

  async send(url: string, apiKey: string, body: JsonObject): Promise<PushOutcome> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${apiKey}`,
          'Content-Type': 'application/json',
          'User-Agent': this.options.userAgent,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return {
        ok: false,
        status: null,
        retryable: true,
        retryAfterMs: null,
        code: timedOut ? 'tts_timeout' : 'tts_unreachable',
        message: timedOut
          ? `TTS did not answer within ${this.options.timeoutMs} ms`
          : `TTS could not be reached: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`,
      };
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return { ok: true, status: response.status };
    const retryHeader = Number(response.headers.get('x-rate-limit-retry'));
    return {
      ok: false,
      status: response.status,
      retryable: response.status === 429 || response.status >= 500,
      retryAfterMs: response.status === 429 && Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader * 1000 : null,
      ...ttsErrorMessage(response.status, text),
    };
  }
}
