import { useMemo, useState } from 'preact/hooks';
import { Api, fetchManifest } from './api/client.js';
import { ErrorNote } from './components/ErrorNote.js';
import { Icon, Logo, type IconName } from './components/Icon.js';
import { AppContext } from './lib/app-context.js';
import { useRoute, type Route } from './lib/router.js';
import { session } from './lib/session.js';
import { useLoad } from './lib/use-load.js';
import { DeadLettersScreen } from './screens/DeadLettersScreen.js';
import { DeviceScreen } from './screens/devices/DeviceScreen.js';
import { DevicesScreen } from './screens/devices/DevicesScreen.js';
import { EventsScreen } from './screens/events/EventsScreen.js';
import { MeasurementsScreen } from './screens/measurements/MeasurementsScreen.js';
import { ProfilesScreen } from './screens/profiles/ProfilesScreen.js';
import { SignIn } from './screens/SignIn.js';

const NAV: { href: string; label: string; icon: IconName; screens: Route['screen'][] }[] = [
  { href: '#/profiles', label: 'Profiles', icon: 'profiles', screens: ['profiles'] },
  { href: '#/devices', label: 'Devices', icon: 'devices', screens: ['devices', 'device'] },
  { href: '#/measurements', label: 'Measurements', icon: 'measurements', screens: ['measurements'] },
  { href: '#/dead-letters', label: 'Dead letters', icon: 'deadLetters', screens: ['dead-letters'] },
  { href: '#/events', label: 'Live events', icon: 'events', screens: ['events'] },
];

export function App() {
  const [token, setToken] = useState(session.token);
  const [notice, setNotice] = useState<string | null>(null);
  const manifest = useLoad(fetchManifest, []);
  const route = useRoute();

  const api = useMemo(() => {
    if (!token) return null;
    return new Api(token, () => {
      session.clear();
      setToken(null);
      setNotice('The plugin did not accept the token any more. Sign in again.');
    });
  }, [token]);

  if (!api) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          session.save(t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  if (!manifest.data) {
    return <main class="boot">{manifest.error ? <ErrorNote error={manifest.error} prefix="Could not read /manifest.json" /> : <p class="muted">Loading…</p>}</main>;
  }

  const signOut = () => {
    session.clear();
    setToken(null);
  };

  return (
    <AppContext.Provider value={{ api, manifest: manifest.data }}>
      <div class="shell">
        <header class="sidebar">
          <div class="brand">
            <Logo />
            <span class="brand-text">
              <span class="brand-name">{manifest.data.ui.title}</span>
              <span class="brand-version">v{manifest.data.version}</span>
            </span>
          </div>
          <nav class="nav" aria-label="Main">
            {NAV.map((n) => (
              <a key={n.href} href={n.href} class="nav-link" aria-current={n.screens.includes(route.screen) ? 'page' : undefined}>
                <Icon name={n.icon} />
                <span>{n.label}</span>
              </a>
            ))}
          </nav>
          <button type="button" class="nav-link signout" onClick={signOut}>
            <Icon name="signOut" />
            <span>Sign out</span>
          </button>
        </header>
        <main class="content">
          <Screen route={route} />
        </main>
      </div>
    </AppContext.Provider>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case 'profiles':
      return <ProfilesScreen appId={route.appId} tab={route.tab} deadLetter={route.deadLetter} />;
    case 'devices':
      return <DevicesScreen />;
    case 'device':
      return <DeviceScreen key={route.id} id={route.id} />;
    case 'measurements':
      return <MeasurementsScreen />;
    case 'dead-letters':
      return <DeadLettersScreen appId={route.appId} />;
    case 'events':
      return <EventsScreen />;
  }
}
