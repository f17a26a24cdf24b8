import { Client } from 'undici';

/** One uplink of a load run: its identity, and the exact body text sent (a resend sends it again). */
export interface LoadUplink {
  /** Unique per uplink; the formatter under test stores it, so a stored row names its uplink. */
  marker: string;
  devEui: string;
  fCnt: number;
  receivedAt: string;
  body: string;
}

export interface Answered {
  uplink: LoadUplink;
  status: number;
  answer: unknown;
  /** The base URL it was sent to. */
  target: string;
}

export interface Lost {
  uplink: LoadUplink;
  /** undici's error code (UND_ERR_SOCKET, ECONNRESET…) or message. */
  error: string;
  /** The load had been stopped (the plugin killed) when the request failed. */
  afterStop: boolean;
  /** The base URL it was sent to. */
  target: string;
  /** That target had been retired (its server killed) when the request failed. */
  afterRetire: boolean;
}

export interface WebhookLoadOptions {
  /**
   * Base URL of the plugin, e.g. http://127.0.0.1:1234; or several (instances behind a load
   * balancer): each sender sends its `seq`-th uplink to `urls[(sender + seq) % n]`, skipping retired ones.
   */
  url: string | string[];
  /** The full Authorization header value (`Bearer …`). */
  authorization: string;
  path?: string;
  senders: number;
  /** The `seq`-th uplink (0, 1, 2…) of sender `sender`; each sender sends its uplinks one after the other. */
  uplink: (sender: number, seq: number) => LoadUplink;
}

/**
 * Closed-loop webhook load: `senders` loops, each on a keep-alive connection of its own, posting its
 * next uplink as soon as the previous one was answered. Every request ends in exactly one of
 * `acked` (a 2xx answer), `refused` (any other answer) or `lost` (no answer: the connection died).
 */
export class WebhookLoad {
  readonly acked: Answered[] = [];
  readonly refused: Answered[] = [];
  readonly lost: Lost[] = [];
  private readonly inFlight = new Map<LoadUplink, string>();
  private readonly clients: Client[] = [];
  private readonly urls: string[];
  private readonly retired = new Set<string>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: WebhookLoadOptions) {
    this.urls = typeof o.url === 'string' ? [o.url] : [...o.url];
  }

  start(): void {
    for (let sender = 0; sender < this.o.senders; sender++) {
      // One connection per sender (and target), no pipelining: what a TTS webhook sender does.
      const clients = this.urls.map((url) => new Client(url, { pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 }));
      this.clients.push(...clients);
      this.loops.push(this.loop(sender, clients));
    }
  }

  /** How many uplinks are in flight to a target right now. */
  inFlightTo(url: string): number {
    let n = 0;
    for (const target of this.inFlight.values()) if (target === url) n++;
    return n;
  }

  /**
   * Takes a target out of the rotation (no request to it starts after this) and returns the uplinks
   * in flight to it at this moment. Call it right before killing that server; the senders go on
   * with the other targets, as behind a load balancer.
   */
  retire(url: string): LoadUplink[] {
    this.retired.add(url);
    return [...this.inFlight].filter(([, target]) => target === url).map(([uplink]) => uplink);
  }

  /**
   * Stops sending (no request starts after this) and returns the uplinks in flight at this moment:
   * sent or being sent, not answered yet. Call it right before killing the server.
   */
  stop(): LoadUplink[] {
    this.stopped = true;
    return [...this.inFlight.keys()];
  }

  /** Resolves when every sender has ended (its last request answered or failed). */
  async finished(): Promise<void> {
    await Promise.all(this.loops);
  }

  async close(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.clients.map((c) => c.destroy().catch(() => undefined)));
  }

  private async loop(sender: number, clients: Client[]): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      let index = (sender + seq) % this.urls.length;
      for (let tries = 0; this.retired.has(this.urls[index]) && tries < this.urls.length; tries++) index = (index + 1) % this.urls.length;
      const target = this.urls[index];
      const client = clients[index];
      if (this.retired.has(target)) return; // every target retired
      const uplink = this.o.uplink(sender, seq);
      this.inFlight.set(uplink, target);
      try {
        const res = await client.request({
          method: 'POST',
          path: this.o.path ?? '/tts/webhook',
          headers: { 'content-type': 'application/json', authorization: this.o.authorization },
          body: uplink.body,
        });
        const text = await res.body.text();
        let answer: unknown = text;
        try {
          answer = JSON.parse(text);
        } catch {
          // kept as text
        }
        (res.statusCode >= 200 && res.statusCode < 300 ? this.acked : this.refused).push({ uplink, status: res.statusCode, answer, target });
      } catch (err) {
        const e = err as { code?: string; message?: string };
        const afterRetire = this.retired.has(target);
        this.lost.push({ uplink, error: e.code ?? e.message ?? String(err), afterStop: this.stopped, target, afterRetire });
        // A sender whose connection died before the stop would hammer a dead server: it ends here;
        // one whose target was retired (killed behind the balancer) goes on with the others.
        if (!afterRetire) return;
      } finally {
        this.inFlight.delete(uplink);
      }
    }
  }
}

/** Posts each body once over `connections` keep-alive connections; the answers in input order. */
export async function postAll(
  url: string,
  authorization: string,
  bodies: string[],
  connections = 8,
  path = '/tts/webhook',
): Promise<{ status: number; answer: any }[]> {
  const out: { status: number; answer: any }[] = new Array(bodies.length);
  let next = 0;
  const clients = Array.from({ length: Math.min(connections, Math.max(bodies.length, 1)) }, () => new Client(url, { pipelining: 1 }));
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (next < bodies.length) {
          const i = next++;
          const res = await client.request({
            method: 'POST',
            path,
            headers: { 'content-type': 'application/json', authorization },
            body: bodies[i],
          });
          const text = await res.body.text();
          let answer: unknown = text;
          try {
            answer = JSON.parse(text);
          } catch {
            // kept as text
          }
          out[i] = { status: res.statusCode, answer };
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.destroy().catch(() => undefined)));
  }
  return out;
}
