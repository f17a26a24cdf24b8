import { expect } from 'vitest';

/** A row of a bucket, as its data route gives it, with the bucket it was read from. */
export interface StoredRow {
  bucket: string;
  ts: string;
  data: Record<string, unknown>;
}

/** All that uplinks left behind, as the admin API shows it. */
export interface StoredContents {
  buckets: { id: string; device_id: string; app_id: string; rows: number }[];
  rows: StoredRow[];
  /** Device ids, sorted. */
  devices: string[];
  deadLetters: unknown[];
}

/**
 * The admin API of running plugin instances (each call names one by its base URL) with `token`,
 * and reading back everything stored through it. `bucketPageSize`: rows per page of a bucket's data.
 */
export function adminApi(token: string, { bucketPageSize = 50 } = {}) {
  const api = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  };

  const get = async (base: string, path: string) => {
    const res = await api(base, 'GET', path);
    expect(res.status, `GET ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };

  /** Saves the profile (answered `status`); its webhook's Authorization header. */
  const putProfile = async (base: string, appId: string, settings: Record<string, unknown>, status = 201) => {
    const put = await api(base, 'PUT', `/api/profiles/${appId}`, settings);
    expect(put.status, JSON.stringify(put.body)).toBe(status);
    const authorization = String((await get(base, `/api/profiles/${appId}/webhook`)).headers.Authorization);
    expect(authorization).toMatch(/^Bearer \S+$/);
    return authorization;
  };

  /**
   * Every row of a bucket, oldest first, page by page. The data route has no cursor, only `from`
   * (inclusive) and `limit`, ordered by (ts, insertion): the next page starts at the last timestamp
   * seen and skips the rows of that timestamp already read, so rows that share a timestamp (a
   * duplicate would) are neither lost nor counted twice at a page boundary.
   */
  const readBucket = async (base: string, bucket: string): Promise<StoredRow[]> => {
    const rows: StoredRow[] = [];
    let from: string | undefined;
    let size = bucketPageSize;
    for (let pages = 0; ; pages++) {
      expect(pages, `paging ${bucket} does not end`).toBeLessThan(10_000);
      const query = new URLSearchParams({ order: 'asc', limit: String(size), ...(from ? { from } : {}) });
      const page = (await get(base, `/api/buckets/${encodeURIComponent(bucket)}/data?${query}`)).items as { ts: string; data: Record<string, unknown> }[];
      const seenAtFrom = from === undefined ? 0 : rows.filter((r) => r.ts === from).length;
      const fresh = page.slice(seenAtFrom);
      for (const r of page.slice(0, seenAtFrom)) expect(r.ts).toBe(from);
      rows.push(...fresh.map((r) => ({ bucket, ts: r.ts, data: r.data })));
      if (page.length < size) return rows;
      if (fresh.length === 0) size *= 2; // a whole page of one timestamp: read more of it at once
      from = page[page.length - 1].ts;
    }
  };

  /** The ids of the application's devices (of all, without `appId`), sorted, page by page. */
  const listDevices = async (base: string, appId?: string) => {
    const devices: string[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ ...(appId ? { app_id: appId } : {}), limit: '25', ...(cursor ? { cursor } : {}) });
      const page = await get(base, `/api/devices?${query}`);
      devices.push(...(page.items as { id: string }[]).map((d) => d.id));
      cursor = page.next_cursor ?? null;
    } while (cursor);
    return devices.sort();
  };

  /**
   * Every bucket of the application (of all, without `appId`) with all its rows, checked against the
   * bucket's own row count; its devices and dead letters.
   */
  const readEverything = async (base: string, appId?: string): Promise<StoredContents> => {
    const buckets = (await get(base, appId ? `/api/buckets?app_id=${appId}` : '/api/buckets')).items as StoredContents['buckets'];
    const perBucket = await Promise.all(buckets.map((b) => readBucket(base, b.id)));
    const rows: StoredRow[] = [];
    buckets.forEach((b, i) => {
      expect(perBucket[i].length, `rows read from bucket ${b.id} against its row count`).toBe(b.rows);
      rows.push(...perBucket[i]);
    });
    const devices = await listDevices(base, appId);
    const deadLetters = (await get(base, `/api/dead-letters?${appId ? `app_id=${appId}&` : ''}limit=1000`)).items as unknown[];
    return { buckets, rows, devices, deadLetters };
  };

  return { api, get, putProfile, readBucket, listDevices, readEverything };
}
