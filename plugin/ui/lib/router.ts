import { useEffect, useState } from 'preact/hooks';

/** Hash routes: the plugin serves only `/`, so every screen lives after the `#`. */
const PROFILE_TABS = ['uplink', 'downlink', 'payload', 'webhook'] as const;
export type ProfileTab = (typeof PROFILE_TABS)[number];

export type Route =
  | { screen: 'profiles'; appId: string | null; tab: ProfileTab }
  | { screen: 'devices' }
  | { screen: 'device'; id: string }
  | { screen: 'measurements' }
  | { screen: 'dead-letters' }
  | { screen: 'events' };

function parseRoute(hash: string): Route {
  const [name = '', a, b] = hash.replace(/^#\/?/, '').split('/').map((s) => decodeURIComponent(s));
  switch (name) {
    case 'devices':
      return a ? { screen: 'device', id: a } : { screen: 'devices' };
    case 'measurements':
      return { screen: 'measurements' };
    case 'dead-letters':
      return { screen: 'dead-letters' };
    case 'events':
      return { screen: 'events' };
    default: {
      const tab = PROFILE_TABS.find((t) => t === b) ?? 'uplink';
      return { screen: 'profiles', appId: a || null, tab };
    }
  }
}

export function hrefOf(route: Route): string {
  const e = encodeURIComponent;
  switch (route.screen) {
    case 'profiles':
      return route.appId ? `#/profiles/${e(route.appId)}/${route.tab}` : '#/profiles';
    case 'devices':
      return '#/devices';
    case 'device':
      return `#/devices/${e(route.id)}`;
    case 'measurements':
      return '#/measurements';
    case 'dead-letters':
      return '#/dead-letters';
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
