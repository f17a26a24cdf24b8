/** PostgreSQL text cannot hold NUL: stored (and looked up) as U+FFFD, where SQLite keeps it. Better than failing the write. */
export function noNul(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
}
