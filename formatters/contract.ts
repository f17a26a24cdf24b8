/**
 * The formatter contract shared by the plugin, the test tool and the sandbox.
 * The plugin only talks to formatters through these types and FormatterPool (sandbox/formatter-pool.ts).
 */

export const FORMATTER_TYPES = ['javascript', 'cayennelpp', 'none'] as const;
export type FormatterType = (typeof FORMATTER_TYPES)[number];

export interface FormatterSpec {
  type: FormatterType;
  /** User script; ignored for `cayennelpp` and `none`. */
  script: string;
  /** Per-call time limit in ms (clamped by the runtime to its maximum). */
  timeoutMs: number;
}

/**
 * `crash`: the formatter process died while running the call; `suspended`: not run, the
 * application's formatter is suspended after repeated timeouts, memory errors or crashes.
 */
export type FormatterErrorKind = 'syntax' | 'runtime' | 'timeout' | 'memory' | 'contract' | 'limit' | 'crash' | 'suspended';

export interface FormatterError {
  kind: FormatterErrorKind;
  message: string;
  /** 1-based line/column in the user's script, for syntax and runtime errors when known. */
  line?: number;
  column?: number;
}

export type LogLevel = 'log' | 'info' | 'warn' | 'error';
export interface LogEntry {
  level: LogLevel;
  message: string;
}

/** What every formatter run reports, success or not. */
export interface RunReport<T> {
  ok: boolean;
  output?: T;
  error?: FormatterError;
  logs: LogEntry[];
  warnings: string[];
  durationMs: number;
}

export type JsonObject = { [key: string]: unknown };

/** What normalizing one uplink gave (formatters/normalized-payload.ts). */
export interface Normalized {
  /** The valid part of each measurement that kept any field, in order. */
  measurements: JsonObject[];
  warnings: string[];
  /** normalizeUplink threw, returned errors or something else than measurements: the decoded data stands. */
  error?: FormatterError;
}

/** An uplink run's report, with the measurements normalized from it when there are any. */
export interface UplinkReport extends RunReport<JsonObject> {
  normalized?: Normalized;
}

export interface UplinkCall {
  /** Decoded frm_payload (may be empty). */
  bytes: Uint8Array;
  fPort: number;
  /** TTS `decoded_payload`, when TTS already decoded the uplink. */
  decodedPayload?: JsonObject;
  /** RFC 3339 receive time, passed to TTS-style decoders as `recvTime` (a Date). */
  receivedAt?: string;
  /** The whole TTS webhook body, the Thinger-style second argument. */
  message: JsonObject;
  /** `message` as JSON text when the caller has it already (the request body), to save a stringify per call. */
  messageJson?: string;
  /** The network normalized this uplink already (TTS `normalized_payload`): normalizeUplink is not run. */
  networkNormalized?: boolean;
}

export interface DownlinkCall {
  /** The JSON value a user wants to send. */
  payload: unknown;
  /** f_port the caller asked for, if any (TTS-style `fPort` input). */
  fPort?: number;
  /** Device record (ids, properties), the Thinger-style second argument. */
  device?: JsonObject;
}

/** A formatted downlink: raw bytes (base64) or a decoded payload that TTS encodes itself. */
export interface DownlinkOutput {
  fPort?: number;
  frmPayload?: string;
  decodedPayload?: JsonObject;
}

export interface DecodeDownlinkCall {
  bytes: Uint8Array;
  fPort: number;
}
