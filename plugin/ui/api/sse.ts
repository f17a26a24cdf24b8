/**
 * Server-Sent Events over fetch(): EventSource cannot send the Authorization header.
 * Parses the text/event-stream format (event, data, id, retry, comments) and reconnects
 * with Last-Event-ID, so the server replays what was missed.
 */

export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

export interface SseOptions {
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  onMessage(message: SseMessage): void;
  /** Connection state for the UI: open after a 200 answer, retrying after a drop. */
  onState(state: 'connecting' | 'open' | 'retrying'): void;
  /** A non-2xx answer; return false to stop reconnecting (e.g. 401). */
  onHttpError(res: Response): boolean;
}

/** Splits a stream of text into SSE messages; keeps partial lines between chunks. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  lastId: string | null = null;
  retryMs: number | null = null;

  constructor(private readonly emit: (m: SseMessage) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length) this.emit({ event: this.event || 'message', data: this.data.join('\n'), id: this.lastId });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Runs until `signal` aborts or onHttpError says stop. */
export async function readEventStream(opts: SseOptions): Promise<void> {
  let lastId: string | null = null;
  let retryMs = 2000;
  while (!opts.signal.aborted) {
    opts.onState('connecting');
    try {
      const headers: Record<string, string> = { ...opts.headers, Accept: 'text/event-stream' };
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const res = await fetch(opts.url, { headers, signal: opts.signal, cache: 'no-store' });
      if (!res.ok || !res.body) {
        if (!opts.onHttpError(res)) return;
      } else {
        opts.onState('open');
        const parser = new SseParser(opts.onMessage);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.push(value);
            lastId = parser.lastId ?? lastId;
            retryMs = parser.retryMs ?? retryMs;
          }
        } finally {
          reader.releaseLock();
        }
      }
    } catch {
      // network drop or abort: retry below unless aborted
    }
    if (opts.signal.aborted) return;
    opts.onState('retrying');
    await sleep(retryMs, opts.signal);
  }
}
