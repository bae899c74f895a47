// The hub as a process: reads the configuration, starts the hub, and shuts it
// down cleanly on SIGTERM/SIGINT (exit 0), or exits 2 on a bad configuration.
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig, type HubConfig } from './config.ts';
import { startEngineRole } from './engine-role.ts';
import { startHub } from './hub.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config.role === 'engine') return runEngineNode(config);
  const hub = await startHub(config);
  const log = hub.context.log;
  if (config.requestedWorkers && config.requestedWorkers > config.workers) {
    log.warn({ requested: config.requestedWorkers, workers: config.workers }, 'HUB_WORKERS exceeds the CPU cores; capped so engine threads never oversubscribe them');
  }
  const cores = availableParallelism();
  if (config.workers * config.engineSlots > cores) {
    log.warn({ workers: config.workers, slots: config.engineSlots, cores }, 'HUB_WORKERS x HUB_ENGINE_SLOTS exceeds the CPU cores: on the CPU the jobs share cores and each runs slower (slots are for GPU workers)');
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 20 s; exiting anyway');
      process.exit(1);
    }, 20_000);
    force.unref();
    hub.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // The last net under the guards around every handler: a promise nobody
  // awaited that rejects is logged, and the hub goes on serving everyone else.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection (a bug: please report it)'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** HUB_ROLE=engine: this machine's engine workers serve the bus until SIGTERM/SIGINT. */
async function runEngineNode(config: HubConfig): Promise<void> {
  const node = await startEngineRole(config);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 20_000).unref();
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`the hub could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
