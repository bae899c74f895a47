// The live task actors: creates them, routes commands to them, answers reads
// from their memory, and fans their frames out to the socket port, the frame
// history (for `since` catch-up) and the persistence actor. It holds no task
// state of its own: each actor owns its task.
import { randomUUID } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createActor } from 'xstate';
import { isFinished, type Task, type TaskEventFrame, type TaskStatus } from '../client/protocol.ts';
import { createTaskMachine, type TaskActor, type TaskServices } from './task-machine.ts';
import type { Persistence } from './persistence.ts';
import type { StoredTask, TaskRecord } from './stores/task-store.ts';
import { HubError } from './hub-error.ts';
import type { LogFn } from '../native/log-fn.ts';

/** Where frames go: implemented by the server over uWS topics. */
export interface FramePort {
  publish(taskId: string, frame: TaskEventFrame): void;
}

export interface RegistryOptions {
  spoolDir: string;
  /** the engine model that will transcribe new tasks */
  model: () => string;
  /** unfinished tasks one user may have; more is refused with `overloaded` */
  maxActivePerUser: number;
  /** frames kept per live task for `since` catch-up */
  historyLength: number;
  /** finished tasks kept in memory for reads */
  recentLength: number;
}

interface LiveTask {
  actor: TaskActor;
  history: TaskEventFrame[];
  files: { audioPath: string; pcmPath: string };
}

export class TaskRegistry {
  private readonly live = new Map<string, LiveTask>();
  private readonly recent = new Map<string, Task>();
  private readonly machine;
  private ports: FramePort[] = [];

  constructor(
    private readonly services: TaskServices,
    private readonly persistence: Persistence,
    private readonly options: RegistryOptions,
    private readonly log: LogFn = () => {},
  ) {
    this.machine = createTaskMachine(services);
  }

  get maxActivePerUser(): number {
    return this.options.maxActivePerUser;
  }

  attach(port: FramePort): void {
    this.ports.push(port);
  }

  /**
   * Records a new task for an upload already in the spool, then starts its
   * actor. Resolves once the store has the record: the only write anybody
   * waits for.
   */
  async create(input: { userId: string; uploadPath: string; name?: string; language?: string }): Promise<Task> {
    this.admit(input.userId);
    const id = randomUUID();
    const now = new Date().toISOString();
    const task: Task = {
      id,
      userId: input.userId,
      kind: 'file',
      status: 'queued',
      createdAt: now,
      updatedAt: now,
      ...(input.name ? { name: input.name } : {}),
      ...(input.language ? { language: input.language } : {}),
      progress: { done: 0, total: 0, pct: 0 },
      segments: [],
      seq: 0,
      model: this.options.model(),
    };
    const files = { audioPath: input.uploadPath, pcmPath: join(this.options.spoolDir, `${id}.pcm`) };
    await this.persistence.store.insert({ task, ...files });
    this.start({ task, ...files });
    return task;
  }

  /**
   * Recreates the actor of a task a previous run left unfinished. With its
   * checkpoint and pcm it goes straight back to transcribing the chunks not yet
   * on its transcript; without its pcm it decodes again first.
   */
  async resume(stored: StoredTask): Promise<void> {
    if (this.live.has(stored.task.id)) return;
    const pcmMissing = Boolean(stored.checkpoint) && !(await access(stored.pcmPath).then(() => true, () => false));
    this.start(stored, pcmMissing);
    this.log('info', 'task resumed', { taskId: stored.task.id, status: stored.task.status, emitted: stored.checkpoint?.emitted ?? 0, pcmMissing });
  }

  /** The task from memory (live, or recently finished), if it is there. */
  get(id: string): Task | undefined {
    return this.live.get(id)?.actor.getSnapshot().context.task ?? this.recent.get(id);
  }

  /** The task from memory, else from the store. */
  async find(id: string): Promise<Task | undefined> {
    return this.get(id) ?? (await this.persistence.store.get(id))?.task;
  }

  async list(query: { userId: string; status?: TaskStatus; limit: number; before?: string }): Promise<Task[]> {
    const stored = await this.persistence.store.list(query);
    return stored.map((t) => this.get(t.id) ?? t).filter((t) => !query.status || t.status === query.status);
  }

  isLive(id: string): boolean {
    return this.live.has(id);
  }

  /** Frames after `since`, or undefined when they are no longer all in memory. */
  framesSince(id: string, since: number): TaskEventFrame[] | undefined {
    const entry = this.live.get(id);
    if (!entry) return undefined;
    const current = entry.actor.getSnapshot().context.task.seq;
    if (since >= current) return since === current ? [] : undefined;
    const first = entry.history[0];
    if (!first || first.seq > since + 1) return undefined;
    return entry.history.filter((f) => f.seq > since);
  }

  /** Cancels a running task; false if it is not running. */
  cancel(id: string): boolean {
    const entry = this.live.get(id);
    if (!entry) return false;
    entry.actor.send({ type: 'CANCEL' });
    return true;
  }

  /** Deletes a finished task with its audio. */
  async delete(id: string): Promise<boolean> {
    const stored = await this.persistence.store.get(id).catch(() => undefined);
    this.persistence.forget(id);
    this.recent.delete(id);
    const deleted = await this.persistence.store.delete(id);
    if (stored) await Promise.all([rm(stored.audioPath, { force: true }), rm(stored.pcmPath, { force: true })]);
    return deleted;
  }

  activeCount(userId?: string): number {
    let n = 0;
    for (const { actor } of this.live.values()) if (!userId || actor.getSnapshot().context.task.userId === userId) n++;
    return n;
  }

  actors(): TaskActor[] {
    return [...this.live.values()].map((l) => l.actor);
  }

  /** Stops every actor (their work is aborted); their last snapshots are already with persistence. */
  stopAll(): void {
    for (const { actor } of this.live.values()) actor.stop();
    this.live.clear();
  }

  private admit(userId: string): void {
    if (this.activeCount(userId) >= this.options.maxActivePerUser) {
      throw new HubError('overloaded', 'you have too many unfinished tasks; wait for some to finish');
    }
  }

  private start(record: TaskRecord, pcmMissing = false): void {
    const { task, audioPath, pcmPath, checkpoint } = record;
    const files = { audioPath, pcmPath };
    const actor = createActor(this.machine, { input: { task, ...files, ...(checkpoint ? { checkpoint, pcmMissing } : {}) }, id: task.id });
    const entry: LiveTask = { actor, history: [], files };
    this.live.set(task.id, entry);
    actor.on('frame', ({ frame }) => {
      entry.history.push(frame);
      if (entry.history.length > this.options.historyLength) entry.history.shift();
      // A chunk on the transcript is final: it is stored once, apart from the task record.
      if (frame.type === 'segments') this.persistence.saveChunk({ taskId: task.id, chunk: frame.chunk, segments: frame.segments });
      for (const port of this.ports) port.publish(task.id, frame);
    });
    let savedSeq = task.seq;
    actor.subscribe({
      next: ({ context }) => {
        if (context.task.seq === savedSeq) return;
        savedSeq = context.task.seq;
        const checkpoint = context.chunks.length ? { chunks: context.chunks, emitted: context.emitted } : undefined;
        this.persistence.saveTask({ task: context.task, ...files, ...(checkpoint ? { checkpoint } : {}) });
      },
      complete: () => this.finish(task.id, entry),
      error: (error) => {
        this.log('error', 'task actor crashed', { taskId: task.id, error: String(error) });
        this.finish(task.id, entry);
      },
    });
    actor.start();
  }

  private finish(id: string, entry: LiveTask): void {
    if (this.live.get(id) !== entry) return;
    const task = entry.actor.getSnapshot().context.task;
    this.live.delete(id);
    this.services.scheduler.forgetTask(id);
    this.recent.set(id, task);
    if (this.recent.size > this.options.recentLength) this.recent.delete(this.recent.keys().next().value!);
    // The decoded pcm is only needed while transcribing; the upload stays.
    rm(entry.files.pcmPath, { force: true }).catch(() => {});
    if (!isFinished(task.status)) this.log('warn', 'task actor ended in a non-final state', { taskId: id, status: task.status });
  }
}
