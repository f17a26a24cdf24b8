import type { MeasurementPoint } from '../../api/types.js';

export interface DeviceMeasurements {
  deviceId: string;
  appId: string;
  /** Oldest first. */
  points: MeasurementPoint[];
  latest: MeasurementPoint;
}

/** The points of each device, devices by application then id. */
export function byDevice(ascending: MeasurementPoint[]): DeviceMeasurements[] {
  const devices = new Map<string, MeasurementPoint[]>();
  for (const p of ascending) {
    const list = devices.get(p.device_id) ?? [];
    list.push(p);
    devices.set(p.device_id, list);
  }
  return [...devices.entries()]
    .map(([deviceId, points]) => {
      const latest = points[points.length - 1];
      return { deviceId, appId: latest.app_id, points, latest };
    })
    .sort((a, b) => a.appId.localeCompare(b.appId) || a.deviceId.localeCompare(b.deviceId));
}

/** Every device's numbers on one time axis (uPlot's shape: the union of their times, in seconds), null where a device has no value. */
export function alignNumbers(devices: DeviceMeasurements[]): { xs: number[]; ys: (number | null)[][] } {
  const xs = [...new Set(devices.flatMap((d) => d.points.map((p) => Date.parse(p.ts) / 1000)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = devices.map((d) => {
    const row: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const p of d.points) if (typeof p.value === 'number') row[index.get(Date.parse(p.ts) / 1000)!] = p.value;
    return row;
  });
  return { xs, ys };
}
