import { useEffect, useState } from 'preact/hooks';

/** Hash routes: the plugin serves only `/`, so every screen lives after the `#`. */
const PROFILE_TABS = ['uplink', 'downlink', 'payload', 'webhook'] as const;
export type ProfileTab = (typeof PROFILE_TABS)[number];

/**
 * Query parameters (after a `?` in the hash): a dead letter to load as the formatter test input,
 * the application the dead letters are filtered by.
 */
export type Route =
  | { screen: 'profiles'; appId: string | null; tab: ProfileTab; deadLetter?: number }
  | { screen: 'devices' }
  | { screen: 'device'; id: string }
  | { screen: 'measurements' }
  | { screen: 'dead-letters'; appId?: string }
  | { screen: 'events' };

function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const params = new URLSearchParams(query);
  const [name = '', a, b] = path.split('/').map((s) => decodeURIComponent(s));
  switch (name) {
    case 'devices':
      return a ? { screen: 'device', id: a } : { screen: 'devices' };
    case 'measurements':
      return { screen: 'measurements' };
    case 'dead-letters': {
      const appId = params.get('app_id');
      return appId ? { screen: 'dead-letters', appId } : { screen: 'dead-letters' };
    }
    case 'events':
      return { screen: 'events' };
    default: {
      const tab = PROFILE_TABS.find((t) => t === b) ?? 'uplink';
      const deadLetter = Number(params.get('dead_letter'));
      return { screen: 'profiles', appId: a || null, tab, ...(Number.isSafeInteger(deadLetter) && deadLetter > 0 ? { deadLetter } : {}) };
    }
  }
}

export function hrefOf(route: Route): string {
  const e = encodeURIComponent;
  switch (route.screen) {
    case 'profiles':
      if (!route.appId) return '#/profiles';
      return `#/profiles/${e(route.appId)}/${route.tab}${route.deadLetter ? `?dead_letter=${route.deadLetter}` : ''}`;
    case 'devices':
      return '#/devices';
    case 'device':
      return `#/devices/${e(route.id)}`;
    case 'measurements':
      return '#/measurements';
    case 'dead-letters':
      return route.appId ? `#/dead-letters?app_id=${e(route.appId)}` : '#/dead-letters';
    case 'events':
      return '#/events';
  }
}

export function navigate(route: Route): void {
  location.hash = hrefOf(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
