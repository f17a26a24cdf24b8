import type { MqttClient } from 'mqtt';
import { bodyTemplate, type BenchDevice } from './uplinks.js';

/**
 * TTS uplinks over MQTT for the bench: the webhook rows' bodies (body = head + f_cnt + tail, see
 * uplinks.ts), published at QoS 0 where TTS's MQTT server publishes them,
 * `v3/{app}@{tenant}/devices/{device_id}/up`. QoS 0 has no answer per message, so the load is
 * open loop at a fixed rate; what arrived is counted on the plugin's side.
 */
export interface MqttTemplate {
  topic: string;
  head: string;
  tail: string;
}

export function mqttTemplates(devices: BenchDevice[], username: string): MqttTemplate[] {
  return devices.map((d) => {
    const { head, tail } = bodyTemplate(d, 'unused-over-mqtt');
    return { topic: `v3/${username}/devices/${d.ttsDeviceId}/up`, head, tail };
  });
}

/** How often the pacer wakes; each wake publishes what fell due since the last one. */
const TICK_MS = 1;

export interface PacedPublish {
  /** Messages published (probes included). */
  published: number;
  /** From the first publish to the last one, s (the rate's window, unless this process fell behind). */
  seconds: number;
}

/**
 * Publishes `ratePerSec` x `durationSec` uplinks at a steady rate, round robin over `templates`,
 * each with the next f_cnt (nothing is a duplicate). QoS 0: mqtt.js writes each to the socket and
 * forgets it. `probe` (if any) adds its own messages on the same connection, counted in `published`.
 */
export function publishPaced(o: {
  client: MqttClient;
  templates: MqttTemplate[];
  fCnt: { next: number };
  ratePerSec: number;
  durationSec: number;
  probe?: LatencyProbe;
}): Promise<PacedPublish> {
  const { client, templates, fCnt } = o;
  const total = Math.round(o.ratePerSec * o.durationSec);
  const probesBefore = o.probe?.published ?? 0;
  let sent = 0;
  let turn = 0;
  return new Promise((resolve) => {
    const start = performance.now();
    o.probe?.start();
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * o.ratePerSec) / 1000) + 1);
      while (sent < due) {
        const t = templates[turn];
        turn = turn + 1 === templates.length ? 0 : turn + 1;
        client.publish(t.topic, t.head + fCnt.next++ + t.tail, { qos: 0 });
        sent++;
      }
      if (sent < total) {
        setTimeout(tick, TICK_MS);
        return;
      }
      const seconds = (performance.now() - start) / 1000;
      o.probe?.stop();
      resolve({ published: sent + (o.probe?.published ?? 0) - probesBefore, seconds });
    };
    tick();
  });
}

/** Gives up on a probe after this (QoS 0 may drop it): counted lost. */
const PROBE_TIMEOUT_MS = 3_000;

/**
 * End-to-end latency, publish to stored, sampled: a few times a second (while started) one uplink
 * of a device of its own whose received_at (the row's ts) is the publish time, on the load's
 * connection (so it queues behind the load); then `newestTs` (the newest row of that device's
 * bucket) is polled every millisecond until it is that uplink's. One probe at a time. The bench
 * reads the plugin's SQLite file for it (read-only, WAL): polling the plugin's API instead cost the
 * plugin ~1 ms of CPU per poll, more than an uplink. A row is seen once committed; the latency is
 * up to about one poll interval late.
 */
export class LatencyProbe {
  published = 0;
  lost = 0;
  latencies: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private lastMs = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      client: MqttClient;
      template: MqttTemplate;
      fCnt: { next: number };
      /** The newest row's ts (ms) of the probe device's bucket, or null (no bucket or no row yet). */
      newestTs: () => number | null;
      ratePerSec: number;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.fire(), 1000 / this.o.ratePerSec);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Resets the figures (not the counts kept for publishPaced). */
  reset(): void {
    this.lost = 0;
    this.latencies = [];
  }

  /** One probe now, awaited (e.g. to provision its device before anything is measured). */
  async once(): Promise<boolean> {
    await this.pending;
    const before = this.latencies.length;
    await this.run();
    return this.latencies.length > before;
  }

  /** The probe in flight, if any, to its end. */
  settled(): Promise<void> {
    return this.pending;
  }

  private fire(): void {
    if (this.busy) return;
    this.pending = this.run();
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      // Distinct, increasing received_at (ms resolution): the probe's row is the newest one.
      const nowMs = Math.max(Date.now(), this.lastMs + 1);
      this.lastMs = nowMs;
      const ts = new Date(nowMs).toISOString();
      const { template: t, client, fCnt } = this.o;
      const body = JSON.parse(t.head + fCnt.next++ + t.tail) as { received_at: string; uplink_message: { received_at: string } };
      body.received_at = ts;
      body.uplink_message.received_at = ts;
      const payload = JSON.stringify(body);
      const sentAt = performance.now();
      client.publish(t.topic, payload, { qos: 0 });
      this.published++;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1));
        if (this.o.newestTs() === nowMs) {
          this.latencies.push(performance.now() - sentAt);
          return;
        }
        if (performance.now() - sentAt > PROBE_TIMEOUT_MS) {
          this.lost++;
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
