/** One Server-Sent Events frame. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  /** Comment lines (`: ping`). */
  comments: string[];
}

/**
 * Reads an SSE response with fetch and its body stream: `next()` resolves with the next frame
 * (or the next one matching a predicate) as soon as its bytes arrive; no polling, no sleeps.
 */
export class SseClient {
  private readonly controller = new AbortController();
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  status = 0;
  headers: Headers = new Headers();
  /** Every frame read so far. */
  readonly frames: SseFrame[] = [];

  constructor(
    private readonly url: string,
    private readonly headersIn: Record<string, string>,
  ) {}

  async open(): Promise<this> {
    const res = await fetch(this.url, { headers: this.headersIn, signal: this.controller.signal });
    this.status = res.status;
    this.headers = res.headers;
    if (res.body) this.reader = res.body.getReader();
    return this;
  }

  /** The next frame matching `predicate`, failing after `timeoutMs`. */
  async next(predicate: (f: SseFrame) => boolean = () => true, timeoutMs = 5000): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.takeFrame();
      if (frame) {
        this.frames.push(frame);
        if (predicate(frame)) return frame;
        continue;
      }
      if (!this.reader) throw new Error('SSE stream has no body');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching SSE frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no matching SSE frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), left);
      });
      try {
        const chunk = await Promise.race([this.reader.read(), timeout]);
        if (chunk.done) throw new Error(`SSE stream ended; got ${JSON.stringify(this.frames)}`);
        this.buffer += this.decoder.decode(chunk.value, { stream: true });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** The next `event: event` frame's parsed data. */
  async nextEvent(predicate: (e: any) => boolean = () => true, timeoutMs = 5000): Promise<{ id: string; data: any }> {
    const frame = await this.next((f) => f.event === 'event' && f.data !== undefined && predicate(JSON.parse(f.data)), timeoutMs);
    return { id: frame.id ?? '', data: JSON.parse(frame.data ?? 'null') };
  }

  private takeFrame(): SseFrame | null {
    const match = /\r?\n\r?\n/.exec(this.buffer);
    if (!match) return null;
    const raw = this.buffer.slice(0, match.index);
    this.buffer = this.buffer.slice(match.index + match[0].length);
    const frame: SseFrame = { comments: [] };
    for (const line of raw.split(/\r?\n/)) {
      if (line.startsWith(':')) {
        frame.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
      else if (field === 'id' || field === 'event' || field === 'retry') frame[field] = value;
    }
    return frame;
  }

  close(): void {
    this.controller.abort();
  }
}
