import type { Clock } from '../../clock.js';
import { DomainError } from '../../domain-error.js';
import { EventThrottle } from '../../events/event-throttle.js';
import type { ReportAnswer, ReportHandler } from '../../pipeline/reports.js';
import type { RefusedWebhooks } from '../../pipeline/refused-webhooks.js';
import type { Profiles } from '../../profiles.js';
import { APP_ID_PATTERN } from '../../schemas/profile.js';
import { networkReportOf } from './normalize.js';
import { parseReport } from './report.js';
import { reportToken, tokensEqual } from './token.js';

export interface ThingparkRequest {
  appId: string;
  query: URLSearchParams;
  body: string;
  contentType: string | undefined;
  remoteAddress: string;
}

const TOKEN = /^[0-9a-fA-F]{64}$/;

/**
 * ThingPark reports, `POST /thingpark/{app_id}?LrnDevEui…&AS_ID&Time&Token`: authenticated as the
 * reference says for each type (token over body fields, query and AS key; AS_ID; the query Time
 * within the profile's window), then handed to the pipeline as neutral reports. Refusals cost no
 * durable write (aggregated events, as refused TTS webhooks).
 */
export class ThingparkReports {
  private readonly notifications = new EventThrottle();

  constructor(private readonly deps: { profiles: Profiles; reports: ReportHandler; refused: RefusedWebhooks; clock: Clock }) {}

  async handle(req: ThingparkRequest): Promise<ReportAnswer> {
    const { appId, query } = req;
    const token = query.get('Token');
    const profile = APP_ID_PATTERN.test(appId) ? await this.deps.profiles.resolve(appId) : null;
    const settings = profile && profile.profileId === appId && profile.settings.network === 'thingpark' ? profile.settings.thingpark : undefined;
    const refuse = async (kind: 'unauthorized' | 'forbidden', code: string, message: string): Promise<never> => {
      // Counted under the connection, or one key for every name that is none: names an outsider
      // makes up cost no event of their own.
      const known = settings !== undefined;
      await this.deps.refused.refuse({ appId: known ? appId : null, profileId: known ? appId : 'thingpark:unknown', tokenSent: token !== null, remoteAddress: req.remoteAddress });
      throw new DomainError(kind, code, message);
    };
    // An unknown application, a TTS one and one on MQTT (its key may be kept from HTTP) look the same from outside.
    if (!profile || !settings?.as_key || settings.transport === 'mqtt') return refuse('unauthorized', 'unauthorized', `no ThingPark connection '${appId.slice(0, 36)}' takes this report`);

    const { report, json } = parseReport(req.body, req.contentType);
    const expected = reportToken(report.type, report.fields, query, settings.as_key);
    if (expected !== null && (token === null || !TOKEN.test(token) || !tokensEqual(token, expected))) {
      return refuse('unauthorized', 'unauthorized', `missing or wrong Token for ThingPark connection '${appId}'`);
    }
    if ((query.get('AS_ID') ?? '').toLowerCase() !== settings.as_id.toLowerCase()) {
      return refuse('forbidden', 'wrong_as_id', `AS_ID is not the one of ThingPark connection '${appId}'`);
    }
    if (settings.max_clock_skew_s > 0) {
      const sent = Date.parse(query.get('Time') ?? '');
      const skew = Math.abs(this.deps.clock.now().getTime() - sent);
      if (!Number.isFinite(sent) || skew > settings.max_clock_skew_s * 1000) {
        return refuse('forbidden', 'stale_time', `Time is missing or more than ${settings.max_clock_skew_s} s from now`);
      }
    }
    const neutral = networkReportOf(appId, report, this.deps.clock.now(), json);
    if (expected === null && neutral.kind === 'note') {
      // Unsigned (no public formula): anyone who knows the AS ID could send it, so it is at most
      // one event a minute per connection, marked as such, and changes nothing else.
      const received = this.notifications.take(appId, this.deps.clock.now().getTime());
      if (received === null) return { status: 202, body: { status: 'ignored', reason: 'unsigned_notification_throttled' } };
      neutral.title = `${neutral.title} (unsigned)`;
      neutral.details = { ...neutral.details, unsigned: true, received_since_last_event: received };
    }
    return this.deps.reports.handle(neutral, profile);
  }
}
