/**
 * What the plugin (FormatterPool) and a formatter process (formatter-process.ts) say to each other:
 * newline-delimited JSON, one batch of calls a line down the child's stdin, one reply a line up
 * its fd 3. JSON.stringify never writes a raw newline, so a line is always one whole message.
 */
import type { FormatterError, JsonObject, LogEntry, Normalized } from '../formatters/contract.js';

/** The operations a process runs: uplink, downlink (encode), decode downlink, check a script, its runtime's stats. */
export type WireOp = 'u' | 'd' | 'x' | 'c' | 's';

export interface WireCall {
  /** Unique within one process's life; replies name it. */
  id: number;
  app: string;
  op: WireOp;
  /** Content hash of the script: the process keeps sources by it. */
  sid: string;
  /** The source, when the process may not have it yet. */
  src?: string;
  /** Time limit of the top level and of the call, ms (already clamped). */
  t: number;
  /** Bytes as base64 (uplink, decode downlink). */
  b?: string;
  fPort?: number;
  receivedAt?: string;
  decoded?: JsonObject;
  /** The network normalized the uplink already: normalizeUplink is not run. */
  nn?: boolean;
  /** The webhook body as JSON text: only for formatters that may read it. */
  message?: string;
  /** Downlink payload (any JSON value) and device record. */
  payload?: unknown;
  device?: JsonObject;
}

/** A call's result: the RunReport without its duration's float noise, plus what the pool learns. */
export type WireReply =
  | {
      id: number;
      ok: boolean;
      output?: unknown;
      error?: FormatterError;
      logs: LogEntry[];
      warnings: string[];
      durationMs: number;
      /** Uplinks: the measurements normalized from the output (see normalized-payload.ts). */
      normalized?: Normalized;
      /** Whether this script's uplink function may read the message (so the pool sends it). */
      readsMessage?: boolean;
    }
  /** The process does not have this script's source (it restarted or dropped it): send it again. */
  | { id: number; need: 'script' };

/** Lines a process sends that are not replies. */
export type WireNotice =
  /** Booted and warmed up: calls are timed from now on. */
  | { notice: 'ready' }
  /** The running call is being run again (its shared isolate ran out of memory): its clock restarts. */
  | { notice: 'retrying'; id: number }
  /** The running call's script has loaded (its top level ran): the call's own clock starts. */
  | { notice: 'loaded'; id: number }
  /** An application is kept in an isolate of its own from now on (it held, or exhausted, the memory). */
  | { notice: 'isolated'; app: string; why: string };

export type WireLine = WireReply | WireNotice;

export function isNotice(line: WireLine): line is WireNotice {
  return 'notice' in line;
}

/**
 * Splits a text stream into lines, each at most `maxLine` characters; a longer one is an error
 * (the reader's owner stops the writer). Chunk boundaries may fall anywhere; each chunk is searched
 * once, so a long line costs time in proportion to its length.
 */
export class LineReader {
  private pieces: string[] = [];
  private pending = 0;

  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: string): void {
    let from = 0;
    let at = chunk.indexOf('\n');
    while (at !== -1) {
      const tail = chunk.slice(from, at);
      if (this.pending + tail.length > this.maxLine) throw new RangeError(`a line of over ${this.maxLine} characters`);
      if (this.pieces.length > 0) {
        this.pieces.push(tail);
        const line = this.pieces.join('');
        this.pieces = [];
        this.pending = 0;
        this.onLine(line);
      } else {
        this.onLine(tail);
      }
      from = at + 1;
      at = chunk.indexOf('\n', from);
    }
    if (from < chunk.length) {
      this.pending += chunk.length - from;
      if (this.pending > this.maxLine) throw new RangeError(`a line of over ${this.maxLine} characters`);
      this.pieces.push(chunk.slice(from));
    }
  }
}
