import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError, notFound } from '../http/http-error.js';
import { bodyValidator } from '../schemas/validate.js';
import { FormatterVersionNoteBody } from '../schemas/queries.js';
import type { FormatterVersion } from '../store/records.js';
import { appIdParam } from './profiles.js';
import type { Services } from './services.js';

const noteBody = bodyValidator(FormatterVersionNoteBody);

function versionParam(ctx: Context): number {
  const text = String(ctx.params.version);
  const version = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(version)) throw new HttpError(400, 'invalid_version', 'a formatter version is a positive integer', { version: text.slice(0, 20) });
  return version;
}

function versionView(v: FormatterVersion, current: number, withScript: boolean) {
  const { type, script, timeout_ms } = v.formatter;
  return {
    version: v.version,
    created_at: v.createdAt,
    note: v.note,
    current: v.version === current,
    type,
    timeout_ms,
    size: Buffer.byteLength(script),
    ...(withScript ? { script } : {}),
  };
}

/** Every saved formatter of a profile is a version: list, read, note, restore (as a new version). */
export function formatterVersionRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/profiles/:app_id/formatter-versions' });

  router.get('/', async (ctx) => {
    const appId = appIdParam(ctx);
    const profile = await s.profiles.get(appId);
    const versions = await s.store.listFormatterVersions(appId);
    ctx.body = { current: profile.formatterVersion, items: versions.map((v) => versionView(v, profile.formatterVersion, false)) };
  });

  router.get('/:version', async (ctx) => {
    const appId = appIdParam(ctx);
    const profile = await s.profiles.get(appId);
    const version = await s.store.getFormatterVersion(appId, versionParam(ctx));
    if (!version) throw notFound('formatter version', String(ctx.params.version));
    ctx.body = versionView(version, profile.formatterVersion, true);
  });

  router.patch('/:version', async (ctx) => {
    const appId = appIdParam(ctx);
    const version = versionParam(ctx);
    const { note } = noteBody.parse(ctx.request.body);
    const profile = await s.profiles.get(appId);
    if (!(await s.store.setFormatterVersionNote(appId, version, note))) throw notFound('formatter version', String(version));
    ctx.body = versionView((await s.store.getFormatterVersion(appId, version))!, profile.formatterVersion, false);
  });

  router.post('/:version/restore', async (ctx) => {
    const appId = appIdParam(ctx);
    const version = versionParam(ctx);
    const { formatterVersion } = await s.profiles.restoreFormatter(appId, version);
    await s.events.record({ appId, deviceId: null, category: 'profile', severity: 'info', title: `Formatter version ${version} restored as version ${formatterVersion}`, details: { restored: version, version: formatterVersion } });
    ctx.body = { version: formatterVersion };
  });

  return router;
}
