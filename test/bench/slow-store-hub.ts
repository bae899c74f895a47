// A hub process whose store answers every write `STORE_DELAY_MS` late: stands
// for a loaded or distant database (the original deadlock's MongoDB). Started
// by bench:busy; prints `HUB_URL <url>` on stdout once the engine is ready.
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import type { TaskStore } from '../../actors/stores/task-store.ts';

const delayMs = Number(process.env.STORE_DELAY_MS ?? 500);
const config = loadConfig();
const inner = new EmbeddedStore(join(config.dataDir, 'hub.sqlite'));
const later = <T>(p: () => Promise<T>) => new Promise((r) => setTimeout(r, delayMs)).then(p);
const slow: TaskStore = {
  kind: `embedded, ${delayMs} ms per write`,
  insert: (doc) => later(() => inner.insert(doc)),
  update: (docs) => later(() => inner.update(docs)),
  delete: (id) => later(() => inner.delete(id)),
  get: (id) => inner.get(id),
  list: (q) => inner.list(q),
  unfinished: () => inner.unfinished(),
  ping: () => inner.ping(),
  close: () => inner.close(),
};
const hub = await startHub(config, { store: slow });
await hub.context.engine.ready();
process.stdout.write(`HUB_URL ${hub.url}\n`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
