// What the server's routes and socket behaviours are given by the composition
// root (main.ts): the actors' front doors, never their state.
import type { Logger } from 'pino';
import type { TaskRegistry } from '../actors/task-registry.ts';
import type { TaskReader } from '../actors/task-reader.ts';
import type { Persistence } from '../actors/persistence.ts';
import type { Scheduler } from '../actors/scheduler.ts';
import type { HubConfig } from './config.ts';
import type { Authenticator } from './auth.ts';
import type { HubMetrics } from './metrics.ts';
import type { HubEngine } from '../native/engine/engine-service.ts';
import type { Spool } from './spool.ts';
import type { FfmpegInfo } from '../native/audio/ffmpeg.ts';
import type { FrameTap } from '../actors/frame-tap.ts';

export interface HubContext {
  config: HubConfig;
  log: Logger;
  auth: Authenticator;
  registry: TaskRegistry;
  /** a task's frames, for handlers that wait on a task in-process */
  frames: FrameTap;
  /** reads for the API: memory, then the store */
  tasks: TaskReader;
  persistence: Persistence;
  scheduler: Scheduler;
  engine: HubEngine;
  metrics: HubMetrics;
  spool: Spool;
  /** ffmpeg, looked up once at start; undefined when it is not installed */
  ffmpeg: FfmpegInfo | undefined;
  /** which voice detector live streams get, and why not Silero when it failed to start */
  vad: { impl: 'silero' | 'energy'; failure?: string; worker: () => { pid: number | undefined; restarts: number } | undefined };
  /** set once shutdown begins: new work is refused */
  shuttingDown: () => boolean;
}
