import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http/http-error.js';
import { thingparkSetup } from '../networks/thingpark/connection-setup.js';
import { webhookSetup } from '../networks/tts/webhook-template.js';
import type { Suspension } from '../../sandbox/circuit-breaker.js';
import { APP_ID_PATTERN, DEFAULT_PROFILE } from '../schemas/profile.js';
import { queryValidator } from '../schemas/validate.js';
import { ProfilePutQuery } from '../schemas/queries.js';
import { profileView } from './views.js';
import type { Services } from './services.js';

export function appIdParam(ctx: Context): string {
  const appId = String(ctx.params.app_id);
  if (!APP_ID_PATTERN.test(appId)) {
    throw new HttpError(400, 'invalid_app_id', 'application ids are 3..36 lowercase letters, digits and single dashes', { app_id: appId });
  }
  return appId;
}

/** Where TTS reaches us: PLUGIN_PUBLIC_URL, else what this request came in on. */
function publicBase(s: Services, ctx: Context): string {
  return s.publicUrl ?? `${ctx.protocol}://${ctx.host}`;
}

/** Suspended formatters by the profile that runs them (apps without a profile run Default's). */
async function suspensionsByProfile(s: Services): Promise<Map<string, Suspension[]>> {
  const byProfile = new Map<string, Suspension[]>();
  const suspensions = s.formatters.suspensions();
  if (suspensions.length === 0) return byProfile;
  const profiled = new Set((await s.profiles.list()).map((p) => p.appId));
  for (const suspension of suspensions) {
    const profileId = profiled.has(suspension.appId) ? suspension.appId : DEFAULT_PROFILE;
    byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), suspension]);
  }
  return byProfile;
}

const putQuery = queryValidator(ProfilePutQuery);

export function profileRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/profiles' });

  router.get('/', async (ctx) => {
    const list = await s.profiles.list();
    const suspensions = await suspensionsByProfile(s);
    ctx.body = { items: list.map((p) => profileView(p.appId, p, suspensions.get(p.appId))) };
  });

  router.get('/:app_id', async (ctx) => {
    const appId = appIdParam(ctx);
    const profile = await s.profiles.get(appId);
    ctx.body = profileView(appId, profile, (await suspensionsByProfile(s)).get(appId));
  });

  router.put('/:app_id', async (ctx) => {
    const appId = appIdParam(ctx);
    const { note } = putQuery.parse({ ...ctx.query });
    const { created } = await s.profiles.put(appId, ctx.request.body, note ?? null);
    await s.events.record({ appId, deviceId: null, category: 'profile', severity: 'info', title: created ? 'Profile created' : 'Profile updated', details: {} });
    ctx.status = created ? 201 : 200;
    ctx.body = profileView(appId, await s.profiles.get(appId));
  });

  router.delete('/:app_id', async (ctx) => {
    const appId = appIdParam(ctx);
    await s.profiles.delete(appId);
    await s.events.record({ appId, deviceId: null, category: 'profile', severity: 'info', title: 'Profile deleted', details: {} });
    ctx.status = 204;
  });

  /** The profile's MQTT connection now: connected, connecting (with the last error), error, or disabled. */
  router.get('/:app_id/connection', async (ctx) => {
    const appId = appIdParam(ctx);
    await s.profiles.get(appId);
    const status = s.connections.status(appId);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = status
      ? { state: status.state, last_error: status.lastError, since: status.since, failed_attempts: status.failures }
      : { state: 'disabled', last_error: null, since: null, failed_attempts: 0 };
  });

  router.get('/:app_id/webhook', async (ctx) => {
    const appId = appIdParam(ctx);
    const profile = await s.profiles.get(appId);
    ctx.set('Cache-Control', 'no-store');
    ctx.body =
      profile.settings.network === 'thingpark'
        ? thingparkSetup(publicBase(s, ctx), appId, profile.settings.thingpark)
        : { network: 'tts', ...webhookSetup(publicBase(s, ctx), appId, profile.webhookToken) };
  });

  router.post('/:app_id/webhook', async (ctx) => {
    const appId = appIdParam(ctx);
    if ((await s.profiles.get(appId)).settings.network !== 'tts') {
      throw new HttpError(409, 'not_a_tts_profile', 'only a TTS profile has a webhook token; a ThingPark connection is authenticated by its AS key');
    }
    const token = await s.profiles.rotateToken(appId);
    await s.events.record({ appId, deviceId: null, category: 'profile', severity: 'warning', title: 'Webhook token rotated', details: {} });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { network: 'tts', ...webhookSetup(publicBase(s, ctx), appId, token) };
  });

  return router;
}
