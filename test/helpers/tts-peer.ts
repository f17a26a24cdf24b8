import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface PeerResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Delay before answering, to provoke client timeouts. */
  delayMs?: number;
}

/**
 * A real HTTP server on loopback playing The Things Stack's webhook downlink API:
 * records every push/replace and answers with the queued responses (default: empty 200, as TTS does).
 */
export class TtsPeer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: PeerResponse[] = [];
  private server: Server | null = null;
  baseUrl = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        const answer = this.script.shift() ?? { status: 200 };
        const send = () => {
          res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
          res.end(answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  /** Queue the answers for the next requests, in order. */
  respond(...answers: PeerResponse[]): void {
    this.script.push(...answers);
  }

  /** The X-Downlink-* headers TTS would send for a device of an application. */
  downlinkHeaders(appId: string, deviceId: string, apiKey = 'NNSXS.TESTKEY.SECRET'): Record<string, string> {
    const base = `${this.baseUrl}/api/v3/as/applications/${appId}/webhooks/bridge/devices/${deviceId}/down`;
    return { 'X-Downlink-Apikey': apiKey, 'X-Downlink-Push': `${base}/push`, 'X-Downlink-Replace': `${base}/replace` };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
