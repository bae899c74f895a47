// The SDK's admin connection against a WebSocket server that stands for the
// hub's /v1/admin (it drops each connection at once, as a restarting hub
// would): it reconnects by itself, and once closed it stays closed — a
// reconnect already scheduled is called off, a request in flight is refused.
import t, { type Test } from 'tap';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { AdminConnection } from '../../client/sdk/admin.ts';

async function flakyHub(t: Test) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  let connections = 0;
  server.on('connection', (ws) => {
    connections++;
    setTimeout(() => ws.close(1011, 'restarting'), 20);
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

t.test('it reconnects by itself; closed, it never reopens', async (t) => {
  const hub = await flakyHub(t);
  const admin = new AdminConnection({ url: hub.url, WebSocket: WebSocket as never }, {});
  while (hub.connections() < 2) await new Promise((r) => setTimeout(r, 20));
  t.pass('reconnected after the hub dropped it');
  // close while the next reconnect is scheduled (the server drops each connection after 20 ms)
  await new Promise((r) => setTimeout(r, 60));
  admin.close();
  // (an upgrade already on the wire when close() was called may still reach the server: it is aborted, not reopened)
  await new Promise((r) => setTimeout(r, 100));
  const seen = hub.connections();
  await new Promise((r) => setTimeout(r, 2_500)); // longer than the first back-off steps
  t.equal(hub.connections(), seen, 'no connection after close()');
});

t.test('a request in flight when it is closed is refused', async (t) => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const opened = new Promise((r) => server.once('connection', r));
  const admin = new AdminConnection({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, WebSocket: WebSocket as never }, {});
  await opened;
  await new Promise((r) => setTimeout(r, 20));
  const inspecting = admin.inspect('task-1'); // the server never answers
  admin.close();
  await t.rejects(inspecting, { code: 'network' });
});
