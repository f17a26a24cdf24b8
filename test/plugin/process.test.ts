import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PluginProcess, ensureBuilt } from '../helpers/plugin-process.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const API_KEY = 'NNSXS.PROCESSTESTKEY0123456789.PROCESSSECRET0123456789ABCDEFGHIJKLMNOPQRSTUV';
const EUI = '70B3D57ED0051A2B';

const count = (text: string, part: string) => text.split(part).length - 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The state letter of a process (R, S, Z…), or null when it is gone. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => {
  const state = processState(pid);
  return state !== null && state !== 'Z';
};

/** The real entry point (dist/plugin/main.js) as `npm start` runs it. */
describe('plugin process (dist/plugin/main.js)', () => {
  let dataDir: string;
  const running: PluginProcess[] = [];
  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'plugin-process-'));
  });
  afterEach(() => {
    for (const p of running.splice(0)) p.kill();
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}) => {
    const p = new PluginProcess({ PLUGIN_PORT: '0', PLUGIN_HOST: '127.0.0.1', PLUGIN_DATA_DIR: dataDir, PLUGIN_LOG_LEVEL: 'info', PLUGIN_PUBLIC_URL: 'https://bridge.example.com', ...env });
    running.push(p);
    return p;
  };
  const get = async (url: string, token: string) => {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  let token = '';

  it('first start: prints the generated admin token once, keeps it in admin-token (0600), and it works', async () => {
    const p = start();
    const url = await p.url();
    const file = join(dataDir, 'admin-token');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    token = readFileSync(file, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(16);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const profiles = await get(`${url}/api/profiles`, token);
    expect(profiles.status).toBe(200);
    expect(profiles.body.items.map((x: { app_id: string }) => x.app_id)).toEqual(['default']);
    expect((await get(`${url}/api/profiles`, 'wrong-token-0123456789')).status).toBe(401);

    // some data to find after the restart, sent with a downlink key that must not be logged
    const setup = await get(`${url}/api/profiles/default/webhook`, token);
    const up = await fetch(`${url}/tts/webhook`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: setup.body.headers.Authorization,
        'X-Downlink-Apikey': API_KEY,
        'X-Downlink-Push': 'https://eu1.cloud.thethings.network/api/v3/as/applications/greenhouse-app/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/push',
        'X-Downlink-Replace': 'https://eu1.cloud.thethings.network/api/v3/as/applications/greenhouse-app/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/replace',
      },
      body: JSON.stringify(uplinkBody({ decoded: { temperature: 21.5 } })),
    });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: 'stored', device_id: EUI });

    expect(await p.stop()).toBe(0);
    expect(count(p.stdout, token)).toBe(1);
    expect(p.stdout).toContain(`Admin token (also in ${file})`);
    expect(p.stdout + p.stderr).not.toContain(API_KEY);
    expect(p.stdout + p.stderr).not.toContain('PROCESSSECRET');
  });

  it('second start: does not print the token again; SIGTERM exits 0; the data is intact', async () => {
    expect(token).not.toBe('');
    const p = start();
    const url = await p.url();
    const device = await get(`${url}/api/devices/${EUI}`, token);
    expect(device.status).toBe(200);
    expect(device.body).toMatchObject({ id: EUI, downlink_ready: true, properties: { device: { f_cnt: 1423 } } });
    const data = await get(`${url}/api/buckets/${EUI}/data`, token);
    expect(data.body.items).toEqual([{ ts: '2025-04-16T11:54:13.787Z', data: { temperature: 21.5 } }]);
    const events = await get(`${url}/api/events?category=uplink`, token);
    expect(events.body.items).toHaveLength(1);

    expect(await p.stop()).toBe(0);
    expect(p.stdout).not.toContain(token);
    expect(p.stdout).not.toContain('Admin token');
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()).toBe(token);
  });

  it('PLUGIN_ADMIN_TOKEN, when set, is the admin token and is not printed', async () => {
    const fromEnv = 'env-admin-token-0123456789abcdef';
    const p = start({ PLUGIN_ADMIN_TOKEN: fromEnv });
    const url = await p.url();
    expect((await get(`${url}/api/profiles`, fromEnv)).status).toBe(200);
    expect((await get(`${url}/api/profiles`, token)).status).toBe(401);
    expect(await p.stop()).toBe(0);
    expect(p.stdout).not.toContain(fromEnv);
  });

  it('its formatter processes end with it: on SIGTERM, and on SIGKILL even while one is stuck in a built-in', async () => {
    const fromEnv = 'env-admin-token-0123456789abcdef';
    const env = { PLUGIN_ADMIN_TOKEN: fromEnv, PLUGIN_FORMATTER_PROCESSES: '1' };
    const graceful = start(env);
    await graceful.url();
    const pid = graceful.child.pid ?? 0;
    const helpers = childrenOf(pid);
    // One formatter process and its spare.
    expect(helpers).toHaveLength(2);
    expect(await graceful.stop()).toBe(0);
    expect(helpers.filter(alive)).toEqual([]);

    const p = start(env);
    const url = await p.url();
    const script = 'module.exports.uplink = function () { return { r: Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 1) }; };';
    const put = await fetch(`${url}/api/profiles/stuck-app`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${fromEnv}` },
      body: JSON.stringify({ formatter: { type: 'javascript', script, timeout_ms: 5000 } }),
    });
    expect(put.status).toBe(201);
    const setup = await get(`${url}/api/profiles/stuck-app/webhook`, fromEnv);
    const stuck = childrenOf(p.child.pid ?? 0);
    // The formatter process, its spare, and the scratch process that checked the script.
    expect(stuck).toHaveLength(3);
    // The call is killed only after 5 s: the plugin dies first, with a formatter busy in includes.
    fetch(`${url}/tts/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: setup.body.headers.Authorization },
      body: JSON.stringify(uplinkBody({ appId: 'stuck-app' })),
    }).catch(() => undefined);
    await sleep(500);
    p.kill();
    await p.exited;
    for (let waited = 0; waited < 5000 && stuck.some(alive); waited += 100) await sleep(100);
    expect(stuck.filter(alive)).toEqual([]);
  });

  it('creates its files 0600 even in a data directory that already exists with mode 0755', async () => {
    const open = mkdtempSync(join(tmpdir(), 'plugin-open-dir-'));
    chmodSync(open, 0o755);
    try {
      const p = start({ PLUGIN_DATA_DIR: open });
      const url = await p.url();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await p.stop()).toBe(0);
      const files = readdirSync(open).filter((name) => name.startsWith('plugin.db') || name === 'admin-token');
      expect(files).toEqual(expect.arrayContaining(['plugin.db', 'admin-token']));
      for (const name of files) expect({ name, mode: statSync(join(open, name)).mode & 0o777 }).toEqual({ name, mode: 0o600 });
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });

  it('a bad variable stops the start with a message naming it', async () => {
    const cases: [string, string][] = [
      ['PLUGIN_PORT', 'abc'],
      ['PLUGIN_EVENT_CAP', '5'],
      ['PLUGIN_ADMIN_TOKEN', 'short'],
    ];
    const outcomes = await Promise.all(
      cases.map(async ([name, value]) => {
        const p = start({ [name]: value });
        const code = await p.exited;
        return { name, value, failed: code !== 0, named: p.stderr.includes(name), listening: p.stdout.includes('plugin listening') };
      }),
    );
    expect(outcomes).toEqual(cases.map(([name, value]) => ({ name, value, failed: true, named: true, listening: false })));
  });
});
