import Router from '@koa/router';
import { HttpError, notFound } from '../http/http-error.js';
import { queryValidator } from '../schemas/validate.js';
import { DeviceListQuery } from '../schemas/queries.js';
import { deviceView, messageView } from './views.js';
import type { Services } from './services.js';
import type { DeviceRecord } from '../store/records.js';

const listQuery = queryValidator(DeviceListQuery);
const PROPERTY_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const PROPERTY_MAX_BYTES = 64 * 1024;

/**
 * A downlink has somewhere to go: the network sent the device's credentials, or its profile holds
 * the connection (ThingPark, TTS over MQTT). Profiles are cached, so a page costs no extra reads.
 */
async function downlinkReady(s: Services, d: DeviceRecord): Promise<boolean> {
  if (d.downlinkReady) return true;
  return s.networks.get(d.ids.network).downlinks.target(d, await s.profiles.resolve(d.appId), null) !== null;
}

export function deviceRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/devices' });

  router.get('/', async (ctx) => {
    const q = listQuery.parse({ ...ctx.query });
    const page = await s.store.listDevices({
      limit: q.limit,
      ...(q.app_id ? { appId: q.app_id } : {}),
      ...(q.search ? { search: q.search } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    const now = s.clock.now();
    const items = await Promise.all(page.items.map(async (d) => deviceView(d, now, await downlinkReady(s, d))));
    ctx.body = { items, next_cursor: page.nextCursor };
  });

  router.get('/:id', async (ctx) => {
    const device = await s.store.getDevice(ctx.params.id);
    if (!device) throw notFound('device', ctx.params.id);
    ctx.body = deviceView(device, s.clock.now(), await downlinkReady(s, device));
  });

  router.delete('/:id', async (ctx) => {
    const device = await s.store.getDevice(ctx.params.id);
    if (!device || !(await s.store.deleteDevice(device.id))) throw notFound('device', ctx.params.id);
    s.uplinks.forgetDevice(device.id);
    await s.events.record({ appId: device.appId, deviceId: device.id, category: 'device', severity: 'info', title: 'Device deleted', details: {} });
    ctx.status = 204;
  });

  router.get('/:id/properties/:name', async (ctx) => {
    const device = await s.store.getDevice(ctx.params.id);
    if (!device) throw notFound('device', ctx.params.id);
    const name = ctx.params.name;
    const value = name === 'downlink' ? (device.properties.downlink ?? {}) : device.properties[name];
    if (value === undefined) throw notFound('property', name);
    ctx.body = { name, value };
  });

  /** Sets a property; setting `downlink` also sends it as a downlink (Thinger behaviour). */
  router.put('/:id/properties/:name', async (ctx) => {
    const { id, name } = ctx.params;
    if (!PROPERTY_NAME.test(name)) throw new HttpError(400, 'invalid_property', 'property names are 1..64 letters, digits, _ or -');
    if (name === 'device') throw new HttpError(400, 'read_only_property', "the 'device' property is maintained by the plugin");
    const value: unknown = ctx.request.body;
    if (Buffer.byteLength(JSON.stringify(value)) > PROPERTY_MAX_BYTES) {
      throw new HttpError(413, 'payload_too_large', `a property holds at most ${PROPERTY_MAX_BYTES} bytes of JSON`);
    }
    if (name !== 'downlink') {
      if (!(await s.store.setDeviceProperty(id, name, value))) throw notFound('device', id);
      ctx.body = { name, value };
      return;
    }
    // The message first: a downlink refused (no f_port, say) leaves the property as it was.
    const message = await s.downlinks.create(id, { message: value, encoding: 'none', ttl: 1440 });
    if (!(await s.store.setDeviceProperty(id, name, value))) throw notFound('device', id);
    ctx.body = { name, value, message: messageView(message) };
  });

  return router;
}
