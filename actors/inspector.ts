// What the admin socket shows: every live actor (task and stream actors, the
// persistence actor, and the scheduler and engine workers, which are not
// XState actors but moving parts all the same) with its state. Changes come
// from XState's inspection API (`inspect` on each actor) and from the pool and
// scheduler's change callbacks; they are coalesced and published at most every
// THROTTLE_MS per actor, and only while an admin is watching: with nobody
// watching, an inspection event costs one comparison.
import type { InspectionEvent } from 'xstate';
import type { ActorInfo, AdminFrame } from '../client/protocol/admin.ts';
import type { TaskRegistry } from './task-registry.ts';
import type { Persistence } from './persistence.ts';
import type { Scheduler } from './scheduler.ts';
import type { EnginePool } from '../native/engine/engine-pool.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';

export const THROTTLE_MS = 250;

export type InspectorFrame = Extract<AdminFrame, { type: 'actor' | 'actor_stopped' }>;
export type { ActorInfo };

interface Sources {
  registry: TaskRegistry;
  persistence: Persistence;
  scheduler: Scheduler;
  pool: () => EnginePool | undefined;
}

const stateName = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}.${stateName(v)}`).join(',');

export class Inspector {
  private watchers = 0;
  private readonly dirty = new Set<string>();
  /** actors gone since the last flush, with their last state */
  private readonly gone = new Map<string, ActorInfo | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Map<string, string>();
  private readonly bootedAt = new Date().toISOString();

  private parts: Sources | undefined;

  constructor(private readonly publish: (frame: InspectorFrame) => void) {}

  /** The parts it shows; they are built after the inspector (they report to it), then attached. */
  attach(parts: Sources): void {
    this.parts = parts;
  }

  private get sources(): Sources {
    if (!this.parts) throw new Error('the inspector has no parts attached yet');
    return this.parts;
  }

  /** Pass as `inspect` to every actor the hub creates. */
  readonly inspect = (event: InspectionEvent): void => {
    if (this.watchers === 0 || event.type !== '@xstate.snapshot') return;
    if (event.actorRef.sessionId !== event.rootId) return; // children show in their parent's state
    this.touch((event.actorRef as unknown as { id: string }).id);
  };

  /** Something about `id` changed: it is published with the next batch. */
  touch(id: string): void {
    if (this.watchers === 0) return;
    this.dirty.add(id);
    this.timer ??= setTimeout(() => this.flush(), THROTTLE_MS);
  }

  /** An actor is gone for good (called while it is still listed, so its last state can be shown). */
  stopped(id: string): void {
    if (this.watchers > 0) {
      this.gone.set(id, this.infoOf(id));
      this.timer ??= setTimeout(() => this.flush(), THROTTLE_MS);
    }
    this.startedAt.delete(id);
  }

  started(id: string): void {
    this.startedAt.set(id, new Date().toISOString());
    this.touch(id);
  }

  watch(delta: 1 | -1): void {
    this.watchers = Math.max(0, this.watchers + delta);
  }

  /** Every live actor, now. */
  list(): ActorInfo[] {
    const { registry } = this.sources;
    const actors = registry.actors().map((a) => this.infoOf(a.getSnapshot().context.task.id)!);
    return [...actors, this.persistenceInfo(), this.schedulerInfo(), ...this.workerInfos()].filter(Boolean);
  }

  infoOf(id: string): ActorInfo | undefined {
    if (id === 'persistence') return this.persistenceInfo();
    if (id === 'scheduler') return this.schedulerInfo();
    if (id.startsWith('worker-')) return this.workerInfos().find((w) => w.id === id);
    const actor = this.sources.registry.actor(id);
    if (!actor) return undefined;
    const snapshot = actor.getSnapshot();
    const task = snapshot.context.task;
    return {
      id,
      kind: task.kind === 'stream' ? 'stream' : 'task',
      state: stateName(snapshot.value),
      startedAt: this.startedAt.get(id) ?? task.createdAt,
      userId: task.userId,
      status: task.status,
      progress: task.progress,
      seq: task.seq,
      ...(task.name ? { name: task.name } : {}),
      ...(task.durationSec !== undefined ? { durationSec: task.durationSec } : {}),
    };
  }

  /** The actor's full XState snapshot (its serialisable form), for `inspect`. */
  snapshot(id: string): unknown {
    if (id === 'persistence') return this.sources.persistence.actor.getPersistedSnapshot();
    const actor = this.sources.registry.actor(id);
    if (actor) return actor.getPersistedSnapshot();
    return this.infoOf(id); // scheduler and workers: their info is all there is
  }

  private persistenceInfo(): ActorInfo {
    const { state, ...stats } = this.sources.persistence.stats();
    return { id: 'persistence', kind: 'persistence', state: stateName(state), startedAt: this.bootedAt, ...stats, store: this.sources.persistence.store.kind };
  }

  private schedulerInfo(): ActorInfo {
    const stats = this.sources.scheduler.stats();
    return { id: 'scheduler', kind: 'scheduler', state: stats.inUse > 0 ? 'dispatching' : 'idle', startedAt: this.bootedAt, ...stats };
  }

  private workerInfos(): ActorInfo[] {
    const pool = this.sources.pool();
    return pool ? workerInfos(pool) : [];
  }

  /** Stops publishing: a batch still waiting is dropped (the sockets are closing). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.watchers = 0;
    this.dirty.clear();
    this.gone.clear();
  }

  private flush(): void {
    this.timer = undefined;
    for (const id of this.dirty) {
      if (this.gone.has(id)) continue;
      const info = this.infoOf(id);
      if (info) this.publish({ type: 'actor', ...info });
    }
    for (const [id, last] of this.gone) {
      if (last) this.publish({ type: 'actor', ...last });
      this.publish({ type: 'actor_stopped', id });
    }
    this.dirty.clear();
    this.gone.clear();
  }
}

/** The engine workers as the admin view lists them (a hub's, or an engine node's in cluster mode). */
export function workerInfos(pool: EnginePool): ActorInfo[] {
  return pool.workers().map((w) => ({
    id: `worker-${w.slot}`,
    kind: 'worker',
    state: w.state,
    startedAt: new Date(w.startedAt).toISOString(),
    pid: w.pid,
    restarts: w.restarts,
    uptimeSec: w.startedAt ? Math.round((Date.now() - w.startedAt) / 1000) : 0,
    slots: w.slots,
    job: w.jobs[0] ? { ...w.jobs[0].tag, audioSec: jobSeconds(w.jobs[0]) } : null,
    jobs: w.jobs.map((j) => ({ ...j.tag, audioSec: jobSeconds(j) })),
    ...(w.engine ? { impl: w.engine.impl, backend: w.engine.backend, ...(w.engine.device ? { device: w.engine.device } : {}) } : {}),
  }));
}

function jobSeconds(job: { start?: number; end?: number; samples?: Float32Array }): number {
  const samples = job.samples ? job.samples.length : (job.end ?? 0) - (job.start ?? 0);
  return Math.round((samples / SAMPLE_RATE) * 100) / 100;
}
