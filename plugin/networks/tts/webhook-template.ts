import { MESSAGE_TYPES } from './webhook-schema.js';

/** Path of each message type below the base URL; all land on the same handler, which dispatches on the body. */
export const WEBHOOK_PATHS: Record<string, string> = Object.fromEntries(
  MESSAGE_TYPES.map((type) => [type, `/${type.replace(/_/g, '-')}`]),
);

export interface WebhookSetup {
  base_url: string;
  paths: Record<string, string>;
  headers: { Authorization: string };
  template: string;
}

const yamlString = (s: string): string => JSON.stringify(s);

/**
 * What to paste into the TTS console (Integrations > Webhooks > Custom webhook), and the same as a
 * TTS webhook template (the format of the TTS webhook-templates repository).
 */
export function webhookSetup(publicUrl: string, appId: string, token: string): WebhookSetup {
  const base = `${publicUrl.replace(/\/+$/, '')}/tts/webhook`;
  const authorization = `Bearer ${token}`;
  const lines = [
    `template-id: lorawan-bridge`,
    `name: LoRaWAN Bridge (${appId})`,
    `description: ${yamlString('Sends every message type to the LoRaWAN Bridge plugin, which stores decoded data and sends downlinks back.')}`,
    `info-url: ${yamlString(publicUrl)}`,
    `format: json`,
    `create-downlink-api-key: true`,
    `base-url: ${yamlString(base)}`,
    `headers:`,
    `  Authorization: ${yamlString(authorization)}`,
    `paths:`,
    ...Object.entries(WEBHOOK_PATHS).map(([type, path]) => `  ${type.replace(/_/g, '-')}: ${yamlString(path)}`),
    '',
  ];
  return { base_url: base, paths: { ...WEBHOOK_PATHS }, headers: { Authorization: authorization }, template: lines.join('\n') };
}
