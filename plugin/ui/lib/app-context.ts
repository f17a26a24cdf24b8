import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { Manifest } from '../api/types.js';

/** What every signed-in screen needs: the API with the token, and the manifest (settings schema). */
export interface AppContextValue {
  api: Api;
  manifest: Manifest;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside the signed-in app');
  return value;
}
