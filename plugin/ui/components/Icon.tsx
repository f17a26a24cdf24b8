/** Inline stroke icons (24-unit grid), so the UI needs no icon font or extra request. */
const PATHS = {
  profiles: 'M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0M14 4v4M8 10v4M16 16v4',
  devices: 'M7 7h10v10H7zM10 3v4M14 3v4M10 17v4M14 17v4M3 10h4M3 14h4M17 10h4M17 14h4',
  measurements: 'M3.5 17.5a8.5 8.5 0 1 1 17 0M12 17.5l4-5M12 6v1.5M6.3 9.8l1 1M17.7 9.8l-1 1',
  deadLetters: 'M3 13h5l1.5 3h5L16 13h5M5 5h14l2 8v6H3v-6z',
  events: 'M3 12h4l3-8 4 16 3-8h4',
  signOut: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name }: { name: IconName }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">
      <path d={PATHS[name]} />
    </svg>
  );
}

/** Radio waves over a node: the LoRaWAN Bridge mark. */
export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <circle cx="16" cy="19" r="2.6" fill="#fff" />
      <path d="M11 14.5a7 7 0 0 1 10 0M7.8 11.3a11.5 11.5 0 0 1 16.4 0" fill="none" stroke="#fff" stroke-width="2.2" stroke-linecap="round" />
    </svg>
  );
}
