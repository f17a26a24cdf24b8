import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readEventStream, SseParser, type SseMessage } from '../../plugin/ui/api/sse.js';

describe('SseParser', () => {
  it('parses events split across chunks, with comments, CRLF and multi-line data', () => {
    const seen: SseMessage[] = [];
    const parser = new SseParser((m) => seen.push(m));
    for (const chunk of ['retry: 2000\n\n: ping\n\nid: 7\nevent: ev', 'ent\ndata: {"a":', '1}\r\n\r\nid: 8\ndata: one\ndata: two\n', '\n']) parser.push(chunk);
    expect(seen).toEqual([
      { event: 'event', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'one\ntwo', id: '8' },
    ]);
    expect(parser.retryMs).toBe(2000);
  });
});

describe('readEventStream', () => {
  it('sends the bearer header and resumes after a drop with Last-Event-ID', async () => {
    const requests: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      requests.push(req.headers);
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const next = requests.length === 1 ? 1 : 3;
      // The first connection drops after two events; the retry delay is kept short.
      res.end(`retry: 10\n\nid: ${next}\nevent: event\ndata: ${next}\n\nid: ${next + 1}\nevent: event\ndata: ${next + 1}\n\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
    const abort = new AbortController();
    const data: string[] = [];
    const states: string[] = [];
    await readEventStream({
      url,
      headers: { Authorization: 'Bearer t0k3n' },
      signal: abort.signal,
      onState: (s) => states.push(s),
      onHttpError: () => false,
      onMessage: (m) => {
        data.push(m.data);
        if (data.length === 4) abort.abort();
      },
    });
    server.closeAllConnections();
    server.close();
    expect(data).toEqual(['1', '2', '3', '4']);
    expect(requests[0].authorization).toBe('Bearer t0k3n');
    expect(requests[0]['last-event-id']).toBeUndefined();
    expect(requests[1]['last-event-id']).toBe('2');
    expect(states.slice(0, 4)).toEqual(['connecting', 'open', 'retrying', 'connecting']);
  });

  it('stops when the server refuses the token', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const statuses: number[] = [];
    await readEventStream({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      headers: {},
      signal: new AbortController().signal,
      onState: () => undefined,
      onMessage: () => undefined,
      onHttpError: (res) => {
        statuses.push(res.status);
        return false;
      },
    });
    server.close();
    expect(statuses).toEqual([401]);
  });
});
