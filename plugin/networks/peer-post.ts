import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/** What is read of a network server's answer at most; the rest is not read (the connection is dropped). */
export const MAX_ANSWER_BYTES = 64 * 1024;

export type PeerAnswer =
  | { kind: 'answered'; status: number; headers: IncomingHttpHeaders; text: string; truncated: boolean }
  | { kind: 'timeout' }
  | { kind: 'unreachable'; error: unknown }
  | { kind: 'invalid_request'; message: string };

export interface PeerPostOptions {
  headers: Record<string, string | number>;
  timeoutMs: number;
  /** Checks the address each connection resolves to (the TTS URL policy). */
  lookup?: LookupFunction;
  maxAnswerBytes?: number;
}

/**
 * One POST to a network server (TTS push URLs, ThingPark's LRC). node:http directly: the answer is
 * read up to a limit and the connection dropped after it, and no redirect is followed.
 */
export class PeerPost {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  post(url: URL, body: Buffer, options: PeerPostOptions): Promise<PeerAnswer> {
    const https = url.protocol === 'https:';
    const maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    return new Promise<PeerAnswer>((resolve) => {
      let settled = false;
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      /** Set once the status line is in: from then on the status decides, whatever breaks off. */
      let finishAnswer: (() => void) | null = null;
      const settle = (answer: PeerAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const failed = (error: unknown) => {
        if (finishAnswer) return finishAnswer();
        settle(timedOut ? { kind: 'timeout' } : { kind: 'unreachable', error });
      };
      const answered = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        // Decided with what was read: at the end, at the limit, or when the answer breaks off.
        const done = () =>
          settle({ kind: 'answered', status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks, size).toString('utf8'), truncated });
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          const room = maxAnswerBytes - size;
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
          url,
          {
            method: 'POST',
            agent: https ? this.httpsAgent : this.httpAgent,
            headers: { ...options.headers, 'Content-Length': body.length },
            ...(options.lookup ? { lookup: options.lookup } : {}),
          },
          answered,
        );
      } catch (err) {
        // e.g. a header value with characters no header may carry
        return settle({ kind: 'invalid_request', message: err instanceof Error ? err.message : String(err) });
      }
      req.on('error', failed);
      timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      }, options.timeoutMs);
      req.end(body);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
