import type { ThingparkSettings } from './settings.js';

export interface ThingparkSetup {
  network: 'thingpark';
  url: string;
  as_id: string;
  content_types: string[];
  steps: string[];
}

/** What to set in ThingPark (an AS routing profile with a Generic HTTPS application) so its reports reach this connection. */
export function thingparkSetup(publicUrl: string, appId: string, settings: ThingparkSettings | undefined): ThingparkSetup {
  const url = `${publicUrl.replace(/\/+$/, '')}/thingpark/${appId}`;
  const asId = settings?.as_id ?? '';
  return {
    network: 'thingpark',
    url,
    as_id: asId,
    content_types: ['JSON (recommended)', 'JSON untyped', 'XML'],
    steps: [
      `In ThingPark, create an application of type Generic HTTPS (an AS routing profile) with destination URL ${url}`,
      'Content type: JSON (JSON untyped and XML work too)',
      `Enable tunnel interface authentication with AS ID ${asId || '(the AS ID set in this profile)'}`,
      'Copy the Tunnel Interface Authentication Key ThingPark shows (only once) into this profile\'s AS key',
      'Set the LRC downlink URL of your ThingPark platform in this profile (e.g. https://api.thingpark.com/thingpark/lrc/rest/downlink)',
    ],
  };
}
