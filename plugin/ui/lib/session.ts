/** The admin token lives for the browser session only (sessionStorage), never in localStorage. */
const KEY = 'lorawan-bridge.admin-token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  save: (token: string): void => sessionStorage.setItem(KEY, token),
  clear: (): void => sessionStorage.removeItem(KEY),
};
