import { ApiError, errorFrom } from './errors.js';
import { readEventStream } from './sse.js';
import type {
  Bucket,
  BucketRow,
  CodecExamplesAnswer,
  CodecExamplesRequest,
  ConnectionSetup,
  ConnectionStatus,
  DeadLetter,
  Device,
  DownlinkMessage,
  EventFilters,
  FormatterTemplate,
  FormatterTestRequest,
  FormatterTestResult,
  FormatterVersion,
  FormatterVersionDetail,
  FormatterVersionList,
  Json,
  Manifest,
  MeasurementList,
  MessagePage,
  PluginEvent,
  Profile,
  ProfileSettings,
  Quantity,
  RecentTestAnswer,
  RecentTestRequest,
  ReplayAllResult,
} from './types.js';

type Query = Record<string, string | number | undefined>;

function queryString(q: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

const seg = encodeURIComponent;

/**
 * Typed calls to the plugin's own API with the admin token. A 401 calls `onUnauthorized`
 * (the app goes back to sign-in) and still rejects, so callers stop what they were doing.
 */
export class Api {
  constructor(
    readonly token: string,
    private readonly onUnauthorized: () => void,
  ) {}

  private async raw(method: string, path: string, body?: Json): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw new ApiError(0, 'network', 'the plugin cannot be reached');
    }
    if (res.status === 401) this.onUnauthorized();
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  private async json<T>(method: string, path: string, body?: Json): Promise<T> {
    const res = await this.raw(method, path, body);
    return res.status === 204 ? (undefined as T) : ((await res.json()) as T);
  }

  profiles = () => this.json<{ items: Profile[] }>('GET', '/api/profiles').then((r) => r.items);
  profile = (appId: string) => this.json<Profile>('GET', `/api/profiles/${seg(appId)}`);
  /** `note` names the formatter version the save makes (when it changes the formatter). */
  saveProfile = (appId: string, settings: ProfileSettings, note?: string) =>
    this.json<Profile>('PUT', `/api/profiles/${seg(appId)}${queryString({ note })}`, settings as unknown as Json);
  /** A new profile: the given settings (a ThingPark one: `network` and `thingpark`), every other one defaulted. */
  createProfile = (appId: string, settings: Partial<ProfileSettings> = {}) =>
    this.json<Profile>('PUT', `/api/profiles/${seg(appId)}`, settings as unknown as Json);
  deleteProfile = (appId: string) => this.json<void>('DELETE', `/api/profiles/${seg(appId)}`);
  /** What to paste into the profile's network: TTS webhook settings or the ThingPark connection. */
  webhook = (appId: string) => this.json<ConnectionSetup>('GET', `/api/profiles/${seg(appId)}/webhook`);
  /** The profile's MQTT connection now (TTS's MQTT server, or a ThingPark profile's broker). */
  connection = (appId: string) => this.json<ConnectionStatus>('GET', `/api/profiles/${seg(appId)}/connection`);
  /** TTS profiles only: a new webhook token. */
  rotateWebhookToken = (appId: string) => this.json<ConnectionSetup>('POST', `/api/profiles/${seg(appId)}/webhook`);

  /** Every saved formatter of the profile, newest first (the last 100). */
  formatterVersions = (appId: string) => this.json<FormatterVersionList>('GET', `/api/profiles/${seg(appId)}/formatter-versions`);
  formatterVersion = (appId: string, version: number) =>
    this.json<FormatterVersionDetail>('GET', `/api/profiles/${seg(appId)}/formatter-versions/${version}`);
  /** null removes the note. */
  noteFormatterVersion = (appId: string, version: number, note: string | null) =>
    this.json<FormatterVersion>('PATCH', `/api/profiles/${seg(appId)}/formatter-versions/${version}`, { note });
  /** Saves that version's formatter as a new version; answers the new version's number. */
  restoreFormatterVersion = (appId: string, version: number) =>
    this.json<{ version: number }>('POST', `/api/profiles/${seg(appId)}/formatter-versions/${version}/restore`);

  devices = (q: { search?: string; app_id?: string; cursor?: string; limit?: number }) =>
    this.json<{ items: Device[]; next_cursor: string | null }>('GET', `/api/devices${queryString(q)}`);
  device = (id: string) => this.json<Device>('GET', `/api/devices/${seg(id)}`);
  deleteDevice = (id: string) => this.json<void>('DELETE', `/api/devices/${seg(id)}`);
  /** Stores the downlink property; the plugin sends it as a downlink too (Thinger behaviour). */
  sendDownlinkProperty = (id: string, value: Json) =>
    this.json<{ name: string; value: Json; message: DownlinkMessage }>('PUT', `/api/devices/${seg(id)}/properties/downlink`, value);
  messages = (id: string, q: { limit: number; offset?: number }) =>
    this.json<MessagePage>('GET', `/api/devices/${seg(id)}/messages${queryString(q)}`);

  bucket = (id: string) => this.json<Bucket>('GET', `/api/buckets/${seg(id)}`);
  bucketData = (id: string, q: { limit: number; order: 'asc' | 'desc'; from?: string }) =>
    this.json<{ bucket_id: string; items: BucketRow[] }>('GET', `/api/buckets/${seg(id)}/data${queryString(q)}`);
  bucketCsv = (id: string, q: { limit: number; from?: string }) =>
    this.raw('GET', `/api/buckets/${seg(id)}/data${queryString({ ...q, order: 'asc', format: 'csv' })}`).then((r) => r.blob());

  /** One quantity's values across devices; `from` is RFC 3339. */
  measurements = (q: { quantity: string; app_id?: string; from?: string; limit: number; order: 'asc' | 'desc' }) =>
    this.json<MeasurementList>('GET', `/api/measurements${queryString(q)}`);
  /** Every quantity of the schema with its unit; `measured` for those reported (by the application's devices, when given). */
  quantities = (q: { app_id?: string } = {}) =>
    this.json<{ items: Quantity[] }>('GET', `/api/measurements/quantities${queryString(q)}`).then((r) => r.items);

  deadLetters = (q: { app_id?: string; limit?: number } = {}) =>
    this.json<{ items: DeadLetter[] }>('GET', `/api/dead-letters${queryString(q)}`).then((r) => r.items);
  replayDeadLetter = (id: number) =>
    this.json<{ status: string; device_id: string }>('POST', `/api/dead-letters/${id}/replay`);
  /** Each pending dead letter of the application once, through its profile's formatter as saved now. */
  replayAllDeadLetters = (appId: string) =>
    this.json<ReplayAllResult>('POST', `/api/dead-letters/replay-all${queryString({ app_id: appId })}`);

  events = (q: EventFilters & { limit?: number; after_id?: number }) =>
    this.json<{ items: PluginEvent[] }>('GET', `/api/events${queryString({ ...q })}`).then((r) => r.items);

  /** Live events (SSE) until `signal` aborts; a 401 signs out and stops. */
  streamEvents(
    q: EventFilters & { after_id?: number },
    handlers: { signal: AbortSignal; onEvent(e: PluginEvent): void; onState(s: 'connecting' | 'open' | 'retrying'): void },
  ): Promise<void> {
    return readEventStream({
      url: `/api/events/stream${queryString({ ...q })}`,
      headers: { Authorization: `Bearer ${this.token}` },
      signal: handlers.signal,
      onState: handlers.onState,
      onMessage: (m) => {
        if (m.event === 'event') handlers.onEvent(JSON.parse(m.data) as PluginEvent);
      },
      onHttpError: (res) => {
        if (res.status !== 401) return true;
        this.onUnauthorized();
        return false;
      },
    });
  }

  testFormatter = (req: FormatterTestRequest) =>
    this.json<FormatterTestResult>('POST', '/api/formatters/test', req as unknown as Json);
  /** The formatter (saved or not) over the application's recent uplinks; nothing stored. */
  testRecent = (req: RecentTestRequest) => this.json<RecentTestAnswer>('POST', '/api/formatters/test-recent', req as unknown as Json);
  /** A Device Repository codec against its YAML's examples; nothing stored. */
  runCodecExamples = (req: CodecExamplesRequest) => this.json<CodecExamplesAnswer>('POST', '/api/formatters/examples', req as unknown as Json);
  templates = () => this.json<{ items: FormatterTemplate[] }>('GET', '/api/formatters/templates').then((r) => r.items);
}

/** Public, no token. */
export async function fetchManifest(): Promise<Manifest> {
  const res = await fetch('/manifest.json');
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as Manifest;
}
