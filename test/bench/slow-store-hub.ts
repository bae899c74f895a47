// A hub process whose store answers every write `STORE_DELAY_MS` late: stands
// for a loaded or distant database (the original deadlock's MongoDB). Started
// by bench:busy; prints `HUB_URL <url>` on stdout once the engine is ready.
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import { FaultyStore } from '../helpers/faulty-store.ts';

const config = loadConfig();
const store = new FaultyStore(new EmbeddedStore(join(config.dataDir, 'hub.sqlite')));
store.writeDelayMs = Number(process.env.STORE_DELAY_MS ?? 500);
const hub = await startHub(config, { store });
await hub.context.engine.ready();
process.stdout.write(`HUB_URL ${hub.url}\n`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
