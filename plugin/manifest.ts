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
    engines: { node: '>=20.11' },
    task: { type: 'service', start: 'npm start', port: 3000, health: '/healthz' },
    ui: { entry: '/', title: 'LoRaWAN Bridge' },
    auth: { admin: 'Authorization: Bearer <PLUGIN_ADMIN_TOKEN>', webhooks: 'Authorization: Bearer <profile webhook token>' },
    endpoints: {
      health: { method: 'GET', path: '/healthz' },
      manifest: { method: 'GET', path: '/manifest.json' },
      webhooks: {
        method: 'POST',
        paths: ['/uplink', '/tts/webhook', ...Object.values(WEBHOOK_PATHS).map((p) => `/tts/webhook${p}`)],
      },
      downlink: { method: 'POST', path: '/downlink/{device_id}' },
      downlink_clear: { method: 'POST', path: '/downlink/{device_id}/clear' },
      api: { path: '/api', resources: ['profiles', 'devices', 'buckets', 'events', 'dead-letters', 'formatters'] },
    },
    settings: {
      scope: 'per TTS application id; "default" applies to every application without its own profile',
      schema: ProfileSettingsSchema,
    },
  };
}
