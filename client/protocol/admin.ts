// The frames of /v1/admin (PROTOCOL.md): the actor list and its changes, the
// `stats` frame, and the answers to `inspect` and `cancel`.
import type { ErrorFrame, PongFrame, Task, TaskStatus } from './types.ts';

/** One live actor as the admin view shows it. */
export interface ActorInfo {
  id: string;
  kind: 'task' | 'stream' | 'persistence' | 'scheduler' | 'worker';
  /** the actor's state (machine state value, or the worker's/scheduler's state) */
  state: string;
  startedAt: string;
  userId?: string;
  status?: TaskStatus;
  progress?: Task['progress'];
  seq?: number;
  name?: string;
  [detail: string]: unknown;
}

export interface StatsFrame {
  type: 'stats';
  at: string;
  uptimeSec: number;
  /** as `engine` in /readyz */
  engine: Record<string, unknown>;
  vad: { impl: 'silero' | 'energy'; pid?: number; restarts?: number };
  workers: {
    /** engine processes, those running a job */
    size: number;
    busy: number;
    /** jobs all of them can run at once, and run now */
    slots: number;
    running: number;
    restarts: number;
    list: {
      slot: number;
      pid: number | undefined;
      state: string;
      uptimeSec: number;
      restarts: number;
      /** jobs it runs at once */
      slots: number;
      /** the first job it runs, and all of them */
      job: Record<string, unknown> | null;
      jobs: (Record<string, unknown> | null)[];
      impl?: string;
      backend?: string;
      deviceMemoryMb?: number;
    }[];
  };
  queue: { capacity: number; inUse: number; live: number; batch: number; byUser: Record<string, number> };
  persistence: Record<string, unknown> & { backlog: number; store: string };
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number };
  memory: { rssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number };
  sockets: Record<string, number> & { total: number };
  tasks: { live: number; streams: number };
}

/** Cluster mode: another node as its own admin view shows it (hubs: every actor; engine nodes: their workers). */
export interface NodeView {
  node: string;
  role: 'hub' | 'engine';
  /** when the node said it */
  at: string;
  actors: ActorInfo[];
  /** a hub: as its `stats` frame; an engine node: `engine` (as in /readyz), `jobsRunning`, `memory` */
  stats: Record<string, unknown>;
}

export type AdminFrame =
  | { type: 'actors'; actors: ActorInfo[] }
  | { type: 'nodes'; nodes: NodeView[] }
  | ({ type: 'actor' } & ActorInfo)
  | { type: 'actor_stopped'; id: string }
  | StatsFrame
  | { type: 'snapshot'; id: string; snapshot: unknown; ref?: unknown; node?: string }
  | { type: 'cancelled'; id: string; ref?: unknown; node?: string }
  | PongFrame
  | ErrorFrame;
