import type { SendOutcome } from '../network.js';
import { PeerPost } from '../peer-post.js';
import { signedQuery } from './token.js';

/** The LRC's answer when it took a downlink (reference A.3); anything else is not queued. */
const QUEUED = 'Request queued by LRC';

export interface LrcConnection {
  asId: string;
  asKey: string;
  downlinkUrl: string;
}

/** Strips tags and squeezes blanks: the LRC answers errors as small HTML pages. */
function plainText(html: string): string {
  return html.replace(/<[^>]{0,200}>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
}

/**
 * Downlink requests to ThingPark's LRC: everything in the query string, signed with the AS key,
 * an empty form body; queued only on 200 with "Request queued by LRC". Answers read up to a limit.
 */
export class LrcClient {
  private readonly peer = new PeerPost();

  constructor(private readonly options: { userAgent: string; timeoutMs: number; now: () => Date }) {}

  /** Actility's order: `params`, then AS_ID and Time (added here), then `after` (CorrelationID), then Token. */
  async send(connection: LrcConnection, params: [string, string][], after: [string, string][] = []): Promise<SendOutcome> {
    const url = new URL(connection.downlinkUrl);
    const query = signedQuery([...params, ['AS_ID', connection.asId], ['Time', this.options.now().toISOString()], ...after], connection.asKey);
    url.search = query;
    const answer = await this.peer.post(url, Buffer.alloc(0), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': this.options.userAgent },
      timeoutMs: this.options.timeoutMs,
    });
    const failed = (status: number | null, retryable: boolean, code: string, message: string) => ({ ok: false as const, status, retryable, retryAfterMs: null, code, message });
    switch (answer.kind) {
      case 'invalid_request':
        return failed(null, false, 'thingpark_invalid_request', `the request could not be built: ${answer.message}`);
      case 'timeout':
        return { ...failed(null, false, 'thingpark_timeout', `the LRC did not answer within ${this.options.timeoutMs} ms; it may have queued the downlink`), maybeQueued: true };
      case 'unreachable':
        return failed(null, true, 'thingpark_unreachable', `the LRC could not be reached: ${answer.error instanceof Error ? answer.error.message : String(answer.error)}`);
      case 'answered': {
        const { status, text } = answer;
        if (status === 200 && text.includes(QUEUED)) return { ok: true, status };
        const why = plainText(text) || `HTTP ${status}`;
        if (status >= 200 && status < 300) return failed(status, false, 'thingpark_not_queued', `the LRC answered ${status} without "${QUEUED}": ${why}`);
        return failed(status, status === 429 || status >= 500, `thingpark_http_${status}`, `the LRC answered ${status}: ${why}`);
      }
    }
  }

  close(): void {
    this.peer.close();
  }
}
