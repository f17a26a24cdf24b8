import { expect } from 'vitest';
import type { StoredContents, StoredRow } from './admin-api.js';
import { uplinkBody } from './tts-bodies.js';
import type { Answered, LoadUplink, Lost } from './webhook-load.js';

/** Stores the uplink's payload (the marker, as text) and its frame counter. */
export const MARKER_UPLINK = `module.exports.uplink = function (payload, message) {
  return { marker: Buffer.from(payload, 'base64').toString('utf8'), f_cnt: message.uplink_message.f_cnt };
};`;

/** Each sender owns this many devices and sends to them in turn, so a device never has two uplinks in flight. */
const DEVICES_PER_SENDER = 2;
/** The dedupe window of a device (README: the keys of its last 32 uplinks per session). */
const DEDUPE_WINDOW = 32;
const BASE_MS = Date.parse('2025-04-16T12:00:00.000Z');

/** What a webhook load did: the uplinks acknowledged and those cut off. */
type LoadOutcome = { acked: Answered[]; lost: Lost[] };

/**
 * The uplinks of a webhook load to an application whose formatter is MARKER_UPLINK: each carries a
 * marker naming it, so every stored row tells which uplink it came from, and whether each uplink was
 * stored once, where and as it should, can be checked after a kill.
 */
export class MarkerUplinks {
  /** Every uplink made, by its marker. */
  private readonly sent = new Map<string, LoadUplink>();
  private readonly template: Record<string, any>;

  /** Devices are `euiPrefix` (8 hex digits) then the sender's and the device's number; markers start with `markerPrefix`. */
  constructor(
    private readonly appId: string,
    private readonly euiPrefix: string,
    private readonly markerPrefix: string,
  ) {
    this.template = uplinkBody({ appId });
  }

  private euiOf(sender: number, device: number): string {
    return `${this.euiPrefix}${sender.toString(16).padStart(4, '0')}${device.toString(16).padStart(4, '0')}`.toUpperCase();
  }

  /** The `seq`-th uplink of a sender: devices in turn, each with its own frame counter from 1. */
  make(sender: number, seq: number): LoadUplink {
    const devEui = this.euiOf(sender, seq % DEVICES_PER_SENDER);
    const fCnt = Math.floor(seq / DEVICES_PER_SENDER) + 1;
    const marker = `${this.markerPrefix}:${devEui}:${fCnt}`;
    const receivedAt = new Date(BASE_MS + fCnt * 1000).toISOString();
    // Serialized right away, so one template object serves every uplink.
    const template = this.template;
    template.end_device_ids.device_id = `eui-${devEui.toLowerCase()}`;
    template.end_device_ids.dev_eui = devEui;
    template.received_at = receivedAt;
    template.uplink_message.f_cnt = fCnt;
    template.uplink_message.received_at = receivedAt;
    template.uplink_message.frm_payload = Buffer.from(marker, 'utf8').toString('base64');
    const up = { marker, devEui, fCnt, receivedAt, body: JSON.stringify(template) };
    this.sent.set(marker, up);
    return up;
  }

  /**
   * The kill landed mid-load: each acknowledgement was a new uplink stored (200 {"status":"stored"}),
   * at least `minAckedBeforeKill` of them before the kill, requests were in flight at it and some of
   * them cut off; every request made is accounted for exactly once.
   */
  expectKilledMidLoad({ acked, lost }: LoadOutcome, kill: { ackedAtKill: number; inFlightAtKill: LoadUplink[]; minAckedBeforeKill: number }): void {
    const notStored = acked.filter((a) => a.status !== 200 || JSON.stringify(a.answer) !== JSON.stringify({ status: 'stored', device_id: a.uplink.devEui }));
    expect(notStored.slice(0, 5).map((a) => ({ marker: a.uplink.marker, target: a.target, status: a.status, answer: a.answer }))).toEqual([]);
    expect(kill.ackedAtKill).toBeGreaterThanOrEqual(kill.minAckedBeforeKill);
    expect(kill.inFlightAtKill.length).toBeGreaterThan(0);
    expect(lost.length).toBeGreaterThan(0);
    for (const l of lost) expect(kill.inFlightAtKill).toContain(l.uplink);
    expect(acked.length + lost.length).toBe(this.sent.size);
    expect(new Set(acked.map((a) => a.uplink.marker)).size).toBe(acked.length);
  }

  /**
   * What was stored across the kill: every acknowledged uplink exactly once, where and as it should
   * be; an uplink cut off by the kill once or not at all; nothing else. One bucket and one device of
   * the application per device with a stored uplink, no dead letter. `counts`: rows per marker.
   */
  expectStoredOnce(stored: StoredContents, { acked, lost }: LoadOutcome): { counts: Map<string, number>; lostButStored: number } {
    const counts = countByMarker(stored.rows);
    // Nothing unknown, nothing in the wrong bucket or with the wrong content.
    expect(this.misplaced(stored.rows).slice(0, 5)).toEqual([]);
    // No uplink stored twice, acknowledged or not.
    expect([...counts].filter(([, n]) => n !== 1).slice(0, 5)).toEqual([]);
    // Every acknowledged uplink stored.
    expect(acked.filter((a) => counts.get(a.uplink.marker) !== 1).map((a) => a.uplink.marker).slice(0, 5)).toEqual([]);
    // Whatever else is stored is an uplink that was in flight at the kill.
    const made = new Set([...acked, ...lost].map((r) => r.uplink.marker));
    expect([...counts.keys()].filter((m) => !made.has(m))).toEqual([]);
    const lostButStored = lost.filter((l) => counts.has(l.uplink.marker)).length;
    expect(stored.rows.length).toBe(acked.length + lostButStored);
    const devicesWithData = [...new Set(stored.rows.map((r) => r.bucket))].sort();
    expect(stored.buckets.map((b) => ({ id: b.id, device_id: b.device_id, app_id: b.app_id })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      devicesWithData.map((id) => ({ id, device_id: id, app_id: this.appId })),
    );
    expect(stored.devices).toEqual(devicesWithData);
    expect(stored.deadLetters).toEqual([]);
    return { counts, lostButStored };
  }

  /** Whether an uplink is still in its device's dedupe window: among the last DEDUPE_WINDOW made for the device. */
  inDedupeWindow(): (up: LoadUplink) => boolean {
    const maxFcnt = new Map<string, number>();
    for (const up of this.sent.values()) maxFcnt.set(up.devEui, Math.max(maxFcnt.get(up.devEui) ?? 0, up.fCnt));
    return (up) => up.fCnt > (maxFcnt.get(up.devEui) ?? 0) - DEDUPE_WINDOW;
  }

  /** After the resends: each of `markers` stored exactly once, where and as it should be, and nothing else; no dead letter. */
  expectStoredExactly(stored: StoredContents, markers: Iterable<string>): void {
    const expected = new Set(markers);
    const counts = countByMarker(stored.rows);
    expect(this.misplaced(stored.rows).slice(0, 5)).toEqual([]);
    expect(stored.rows.length).toBe(expected.size);
    for (const marker of expected) expect(counts.get(marker), marker).toBe(1);
    expect(stored.deadLetters).toEqual([]);
  }

  /** Rows that are not exactly what their uplink should have stored, where it should have. */
  private misplaced(rows: StoredRow[]): StoredRow[] {
    return rows.filter((r) => {
      const up = this.sent.get(String(r.data.marker));
      return !up || r.bucket !== up.devEui || r.ts !== up.receivedAt || JSON.stringify(r.data) !== JSON.stringify({ marker: up.marker, f_cnt: up.fCnt });
    });
  }
}

function countByMarker(rows: StoredRow[]): Map<string, number> {
  const byMarker = new Map<string, number>();
  for (const r of rows) byMarker.set(String(r.data.marker), (byMarker.get(String(r.data.marker)) ?? 0) + 1);
  return byMarker;
}

/** Acknowledged uplinks sent again (as TTS would): each one a duplicate. */
export function expectDuplicates(answers: { status: number; answer: any }[], resent: LoadUplink[]): void {
  expect(
    answers
      .map((r, i) => ({ marker: resent[i].marker, status: r.status, answer: r.answer }))
      .filter((r) => r.status !== 200 || r.answer?.status !== 'duplicate')
      .slice(0, 5),
  ).toEqual([]);
}

/** Uplinks cut off by the kill sent again: stored now if and only if they were not before (`counts`: rows per marker before). */
export function expectStoredUnlessBefore(answers: { status: number; answer: any }[], resent: LoadUplink[], counts: Map<string, number>): void {
  expect(answers.map((r) => ({ status: r.status, answer: r.answer }))).toEqual(
    resent.map((up) => ({ status: 200, answer: { status: counts.has(up.marker) ? 'duplicate' : 'stored', device_id: up.devEui } })),
  );
}
