import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APP, DEVICE, deviceWithDownlinks, ttsDownlinkEvent } from '../helpers/downlink-setup.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const CMD = { enabled: true, frequency: 300, threshold: 25 };

describe('status notifications (IoTDA device.message.status)', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let receiver: TtsPeer;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
    receiver = await new TtsPeer().start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
    await receiver.stop();
  });

  const statuses = () =>
    receiver.requests.map((r) => (r.body as { notify_data: { body: { status: string } } }).notify_data.body.status);

  it('posts every status change, in order, in IoTDA\'s shape', async () => {
    await deviceWithDownlinks(plugin, tts, { downlink: { status_notification_url: `${receiver.baseUrl}/iot/status` } });
    await plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: 'm1', name: 'setConfig', message: CMD, f_port: 15 } });
    const m = (await plugin.request('GET', `/api/devices/${DEVICE}/messages/m1`)).body;
    clock.advance(2000);
    await plugin.webhook(ttsDownlinkEvent('downlink_sent', m.correlation_id));
    await expect.poll(() => statuses().at(-1)).toBe('DELIVERED');
    expect(receiver.requests[0].path).toBe('/iot/status');
    expect(receiver.requests.at(-1)!.body).toMatchObject({
      resource: 'device.message.status',
      event: 'update',
      event_time: '20250416T120002Z',
      notify_data: {
        header: { app_id: APP, device_id: DEVICE },
        body: { message_id: 'm1', name: 'setConfig', status: 'DELIVERED', timestamp: '20250416T120002Z' },
      },
    });
    expect(new Set(statuses())).toEqual(new Set(['PENDING', 'DELIVERED']));
  });

  it('retries a notification the receiver refused, from the store', async () => {
    await deviceWithDownlinks(plugin, tts, { downlink: { status_notification_url: `${receiver.baseUrl}/n` } });
    receiver.respond({ status: 503 }, { status: 503 });
    await plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: 'm2', message: CMD, f_port: 15 } });
    await expect.poll(() => receiver.requests.length).toBe(2);
    await plugin.app.services.notifier.deliverDue(); // let the first round finish rescheduling
    expect(receiver.requests).toHaveLength(2);
    clock.advance(60_000);
    await plugin.app.services.notifier.deliverDue();
    expect(receiver.requests).toHaveLength(4);
    expect(receiver.requests[2].body).toEqual(receiver.requests[0].body);
    expect(receiver.requests[3].body).toEqual(receiver.requests[1].body);
    clock.advance(600_000);
    await plugin.app.services.notifier.deliverDue();
    expect(receiver.requests).toHaveLength(4);
  });
});
