import type { JsonObject } from '../../formatters/contract.js';
import type { Background } from '../background.js';
import type { EventLog } from '../events/event-log.js';
import type { NetworkReport } from '../networks/network.js';
import type { ResolvedProfile } from '../profiles.js';
import { deviceIdentity } from '../provisioning.js';
import type { Store } from '../store/store.js';
import type { DownlinkService } from './downlink.js';
import type { UplinkOutcome, UplinkPipeline } from './uplink.js';

/** The answer a network's intake gives its sender. */
export interface ReportAnswer {
  status: number;
  body: JsonObject;
}

/**
 * Every network's reports, once authenticated and validated by its intake, go through here: uplinks
 * into the uplink pipeline; delivery events to the message they belong to; locations, notes and
 * credentials onto the device. A report acts only on its own application's devices and messages.
 */
export class ReportHandler {
  constructor(
    private readonly deps: {
      store: Store;
      uplinks: UplinkPipeline;
      downlinks: DownlinkService;
      events: EventLog;
      background: Background;
    },
  ) {}

  async handle(report: NetworkReport, profile: ResolvedProfile): Promise<ReportAnswer> {
    if (!profile.settings.enabled) {
      await this.deps.events.record({
        appId: profile.appId,
        deviceId: null,
        category: 'webhook',
        severity: 'info',
        title: `Message ignored: profile '${profile.profileId}' is disabled`,
        details: { type: report.type },
      });
      return { status: 202, body: { status: 'ignored', reason: 'profile_disabled' } };
    }
    if (report.kind === 'uplink') {
      // Not awaited here: this frame would hold the parsed body until the write is durable, and
      // bodies kept that long are what the young-generation GC copies and promotes.
      const acknowledges = report.acknowledges === true;
      return this.deps.uplinks
        .handle({ uplink: report.uplink, profile, credentials: report.credentials })
        .then((outcome) => this.uplinkAnswer(outcome, acknowledges ? profile.appId : null));
    }
    return this.other(report, profile);
  }

  /** `ackFor`: the application whose device's confirmed downlink this uplink acknowledged. */
  private uplinkAnswer(outcome: UplinkOutcome, ackFor: string | null): ReportAnswer {
    if (outcome.credentialsChanged) this.flushWaiting(outcome.deviceId);
    if (ackFor !== null && outcome.status !== 'duplicate') {
      const { deviceId } = outcome;
      this.deps.background.run(`acknowledging the confirmed downlink of ${deviceId}`, async () => {
        await this.deps.downlinks.onAck(ackFor, deviceId);
      });
    }
    return {
      status: 200,
      body: {
        status: outcome.status,
        device_id: outcome.deviceId,
        ...(outcome.deadLetterId !== null ? { dead_letter_id: outcome.deadLetterId } : {}),
      },
    };
  }

  private flushWaiting(deviceId: string): void {
    this.deps.background.run(`sending waiting downlinks of ${deviceId}`, () => this.deps.downlinks.onCredentials(deviceId));
  }

  private async other(report: Exclude<NetworkReport, { kind: 'uplink' }>, profile: ResolvedProfile): Promise<ReportAnswer> {
    const { store, downlinks, events } = this.deps;
    const { deviceId } = deviceIdentity(profile.settings.uplink, report.ids);
    // A token acts on its own application's devices only: not on credentials, location or messages
    // of a device another application provisioned under the same id.
    const device = await store.getDevice(deviceId);
    if (device && device.appId !== profile.appId) {
      await events.record({
        appId: profile.appId,
        deviceId: null,
        category: 'webhook',
        severity: 'warning',
        title: `${report.title}: ignored, device '${deviceId}' belongs to another application (give the profiles distinct id prefixes)`,
        details: { type: report.type, device_id: deviceId },
      });
      return { status: 202, body: { status: 'ignored', reason: 'device_of_another_application', type: report.type, device_id: deviceId } };
    }
    if (report.credentials && (await store.putCredentials(deviceId, report.credentials))) this.flushWaiting(deviceId);

    let messageId: string | null = null;
    let severity = report.kind === 'note' ? report.severity : 'info';
    if (report.kind === 'delivery') {
      const message = await downlinks.onDelivery(profile.appId, report.event);
      messageId = message?.messageId ?? null;
      severity = report.event.kind === 'failed' ? 'error' : report.event.kind === 'nacked' ? 'warning' : 'info';
    }
    if (report.kind === 'location' && profile.settings.uplink.update_location) {
      await store.setDeviceProperty(deviceId, 'location', report.location);
    }
    await events.record({
      appId: profile.appId,
      deviceId,
      category: report.kind === 'delivery' ? 'downlink' : report.kind === 'note' ? report.category : 'webhook',
      severity,
      title: report.title,
      details: { type: report.type, ...(messageId ? { message_id: messageId } : {}), ...report.details },
    });
    return { status: 200, body: { status: 'recorded', type: report.type, device_id: deviceId } };
  }
}
