import { WEBHOOK_PATHS } from './networks/tts/webhook-template.js';
import { PACKAGE } from './project-files.js';
import { ProfileSettingsSchema } from './schemas/profile.js';

/**
 * The plugin manifest. manifest.json at the project root is written from this
 * (`npm run manifest`) and a test keeps the two equal, so the settings schema has one source.
 */
export function buildManifest() {
  return {
    name: PACKAGE.name,
    version: PACKAGE.version,
    description: 'The Things Stack integration: webhooks in, sandboxed payload formatters, auto-provisioned devices and buckets, tracked downlinks out.',
    author: 'LoRaWAN Bridge contributors',
    license: 'MIT',
    engines: { node: '>=24' },
    task: { type: 'service', start: 'npm start', port: 3000, health: '/healthz' },
    ui: { entry: '/', title: 'LoRaWAN Bridge' },
    auth: {
      admin: 'Authorization: Bearer <PLUGIN_ADMIN_TOKEN>',
      webhooks: 'Authorization: Bearer <profile webhook token>',
      thingpark: 'Token query parameter signed with the profile\'s AS key (ThingPark tunnel interface)',
    },
    endpoints: {
      health: { method: 'GET', path: '/healthz' },
      manifest: { method: 'GET', path: '/manifest.json' },
      webhooks: {
        method: 'POST',
        paths: ['/uplink', '/tts/webhook', ...Object.values(WEBHOOK_PATHS).map((p) => `/tts/webhook${p}`)],
      },
      thingpark_reports: { method: 'POST', path: '/thingpark/{app_id}' },
      downlink: { method: 'POST', path: '/downlink/{device_id}' },
      downlink_clear: { method: 'POST', path: '/downlink/{device_id}/clear' },
      api: { path: '/api', resources: ['profiles', 'devices', 'buckets', 'events', 'dead-letters', 'formatters'] },
    },
    settings: {
      scope: 'per application (a TTS application id, or the name of a ThingPark connection); "default" applies to every TTS application without its own profile',
      schema: ProfileSettingsSchema,
    },
  };
}
