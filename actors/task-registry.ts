// The lifecycle of the live actors (file tasks and stream sessions): creates
// and resumes them, routes commands to them, and fans their frames out to the
// socket ports, the frame log (for `since` catch-up) and the persistence
// actor. It holds no task state of its own: each actor owns its task. Reads
// for the API go through TaskReader; file names come from TaskFiles.
import { access } from 'node:fs/promises';
import { createActor, type InspectionEvent } from 'xstate';
import { isFinished, type FeedFrame, type Task, type TaskEventFrame, type TranscribeOptions } from '../client/protocol/types.ts';
import { createTaskMachine, type TaskActor, type TaskServices } from './task-machine.ts';
import { createStreamMachine, type StreamActor, type StreamServices } from './stream-machine.ts';
import type { TurnOptions } from './live-transcriber.ts';
import type { Persistence } from './persistence.ts';
import type { Checkpoint, StoredTask, TaskRecord } from './stores/task-store.ts';
import { FrameLog } from './frame-log.ts';
import { newTask } from './new-task.ts';
import type { TaskFiles } from './task-files.ts';
import { HubError } from './hub-error.ts';
import type { LogFn } from '../native/log-fn.ts';

/** Where frames go: implemented by the server over uWS topics. */
export interface FramePort {
  publish(taskId: string, frame: TaskEventFrame): void;
  /** a user's task feed: a task was created, or deleted */
  feed?(userId: string, frame: FeedFrame): void;
}

export interface RegistryOptions {
  files: TaskFiles;
  /** the engine model that will transcribe new tasks */
  /** the name of the model that transcribes a task asking for `wanted` (options.model; absent: the default) */
  model: (wanted: string | undefined) => string;
  /** unfinished tasks one user may have; more is refused with `overloaded` */
  maxActivePerUser: number;
  /** frames kept per live task for `since` catch-up */
  historyLength: number;
  /** finished tasks kept in memory for reads */
  recentLength: number;
}

type LiveActor = TaskActor | StreamActor;

/** Who watches the actors come and go (the admin view): XState's `inspect`, plus start and stop. */
export interface ActorObserver {
  inspect?: (event: InspectionEvent) => void;
  started?: (id: string) => void;
  stopped?: (id: string) => void;
}

interface LiveTask {
  actor: LiveActor;
  files: { audioPath: string; pcmPath: string };
}

/**
 * How far a resumed task's seq jumps (a restart, or a take-over by another
 * hub): further than the frames a hub can publish before they are stored (the
 * store is written within seconds; a task publishes a few frames a second).
 */
export const RESUME_SEQ_STEP = 100_000;

export class TaskRegistry {
  private readonly live = new Map<string, LiveTask>();
  private readonly recent = new Map<string, Task>();
  private readonly fileMachine;
  private readonly streamMachine;
  private ports: FramePort[] = [];
  private readonly frames: FrameLog;

  constructor(
    private readonly services: TaskServices & { stream: StreamServices },
    private readonly persistence: Persistence,
    private readonly options: RegistryOptions,
    private readonly log: LogFn = () => {},
    private readonly observer: ActorObserver = {},
  ) {
    this.frames = new FrameLog(options.historyLength);
    this.fileMachine = createTaskMachine(services);
    this.streamMachine = createStreamMachine(services.stream);
  }

  attach(port: FramePort): void {
    this.ports.push(port);
  }

  /**
   * Records a new task for an upload already in the spool, then starts its
   * actor. Resolves once the store has the record: the only write anybody
   * waits for.
   */
  async create(input: { id?: string; userId: string; uploadPath: string; name?: string; language?: string; options?: TranscribeOptions }): Promise<Task> {
    this.admit(input.userId);
    const task = newTask({ ...input, kind: 'file', status: 'queued', model: this.options.model(input.options?.model) });
    const files = { audioPath: input.uploadPath, pcmPath: this.options.files.pcmPath(task.id) };
    await this.options.files.share?.(task.id, files.audioPath);
    await this.persistence.store.insert({ task, ...files }).catch(async (error: unknown) => {
      await this.options.files.remove({ task, audioPath: '', pcmPath: '' }).catch(() => {}); // the shared copy, if any (the caller owns the upload)
      throw error;
    });
    this.startFile({ task, ...files });
    this.announce(task.userId, { type: 'created', id: task.id, seq: task.seq, task });
    return task;
  }

  /** Records a new live session (a task of kind `stream`) and starts its actor. */
  async createStream({ turns, ...input }: { userId: string; language?: string; name?: string; options?: TranscribeOptions; turns?: TurnOptions }): Promise<StreamActor> {
    this.admit(input.userId);
    const task = newTask({ ...input, kind: 'stream', status: 'transcribing', model: this.options.model(input.options?.model) });
    const files = { audioPath: '', pcmPath: '' }; // live audio is not kept
    await this.persistence.store.insert({ task, ...files });
    const actor = createActor(this.streamMachine, { input: { task, ...(turns ? { turns } : {}) }, id: task.id, ...this.inspection() });
    this.track(actor, { task, ...files });
    this.announce(task.userId, { type: 'created', id: task.id, seq: task.seq, task });
    return actor;
  }

  streamCount(): number {
    let n = 0;
    for (const { actor } of this.live.values()) if (actor.getSnapshot().context.task.kind === 'stream') n++;
    return n;
  }

  /**
   * Recreates the actor of a file task a previous run left unfinished. With
   * its checkpoint and pcm it goes straight back to transcribing the chunks not
   * yet on its transcript; without its pcm it decodes again first.
   */
  async resume(record: StoredTask): Promise<void> {
    if (this.live.has(record.task.id)) return;
    // Taken over from another hub: its files on this hub's disk. Without them the actor starts anyway and fails on the missing upload, saying so.
    const files = await this.options.files.localize?.(record).catch((error: unknown) => {
      this.log('error', 'could not fetch the upload of a task taken over', { taskId: record.task.id, error: String(error) });
    });
    // Its seq jumps past any frame the previous run may have published without storing it: a client that saw those sees a gap and catches up with `since`.
    const stored = { ...record, ...files, task: { ...record.task, seq: record.task.seq + RESUME_SEQ_STEP } };
    const pcmMissing = Boolean(stored.checkpoint) && !(await access(stored.pcmPath).then(() => true, () => false));
    this.startFile(stored, pcmMissing);
    this.log('info', 'task resumed', { taskId: stored.task.id, status: stored.task.status, emitted: stored.checkpoint?.emitted ?? 0, pcmMissing });
  }

  /** The task from memory (live, or recently finished), if it is there. */
  get(id: string): Task | undefined {
    return this.live.get(id)?.actor.getSnapshot().context.task ?? this.recent.get(id);
  }

  isLive(id: string): boolean {
    return this.live.has(id);
  }

  /** Frames after `since`, or undefined when they are no longer all in memory. */
  framesSince(id: string, since: number): TaskEventFrame[] | undefined {
    const entry = this.live.get(id);
    return entry ? this.frames.since(id, since, entry.actor.getSnapshot().context.task.seq) : undefined;
  }

  /** Cancels a running file task, or ends a live stream; false if it is not running. */
  cancel(id: string): boolean {
    const entry = this.live.get(id);
    if (!entry) return false;
    if (entry.actor.getSnapshot().context.task.kind === 'stream') (entry.actor as StreamActor).send({ type: 'CLOSE' });
    else (entry.actor as TaskActor).send({ type: 'CANCEL' });
    return true;
  }

  /** Deletes a finished task with its audio. */
  async delete(id: string): Promise<boolean> {
    // A store that cannot say which files are the task's fails the delete: nothing is removed.
    const stored = await this.persistence.store.get(id);
    this.persistence.forget(id);
    this.recent.delete(id);
    const deleted = await this.persistence.store.delete(id);
    if (stored) await this.options.files.remove(stored);
    if (deleted && stored) this.announce(stored.task.userId, { type: 'deleted', id });
    return deleted;
  }

  private announce(userId: string, frame: FeedFrame): void {
    for (const port of this.ports) port.feed?.(userId, frame);
  }

  activeCount(userId?: string): number {
    let n = 0;
    for (const { actor } of this.live.values()) if (!userId || actor.getSnapshot().context.task.userId === userId) n++;
    return n;
  }

  actors(): LiveActor[] {
    return [...this.live.values()].map((l) => l.actor);
  }

  actor(id: string): LiveActor | undefined {
    return this.live.get(id)?.actor;
  }

  /**
   * Another hub took this task over (cluster mode): its actor stops here and
   * writes nothing more. A file task's frames now come from the new owner; a
   * live session's client (if still here) is sent to find it (its socket
   * closes with 1001, and the client resumes where the session went).
   */
  abandon(id: string): void {
    const entry = this.live.get(id);
    if (!entry) return;
    this.untrack(id);
    this.persistence.forget(id);
    entry.actor.stop();
  }

  /**
   * A live session whose hub stopped — this one restarted, or in cluster mode
   * another hub died or lost its client to this one — resumed by its client
   * here: a new actor from the stored record (its finals kept, its seq past
   * the old one's), taking the session's lease. Audio goes on from the end of
   * its last final, so the client re-sends what the old hub had not made
   * final. Undefined when there is no such session of this user.
   */
  async reviveStream(id: string, userId: string, turns?: TurnOptions): Promise<StreamActor | undefined> {
    if (this.live.has(id)) return undefined;
    const stored = await this.persistence.store.get(id);
    if (!stored || stored.task.kind !== 'stream' || stored.task.userId !== userId) return undefined;
    const leases = this.persistence.store.leases;
    const hubStopped = stored.task.status === 'interrupted' && stored.task.error?.code === 'interrupted';
    const elsewhere = leases !== undefined && !isFinished(stored.task.status);
    if (!hubStopped && !elsewhere) return undefined;
    if (leases && !(await leases.takeOver(id))) return undefined;
    if (this.live.has(id)) return undefined; // (revived meanwhile by another connection)
    const { error: _, ...rest } = stored.task;
    const task: Task = { ...rest, status: 'transcribing', durationSec: rest.segments.at(-1)?.end ?? 0, seq: rest.seq + RESUME_SEQ_STEP, updatedAt: new Date().toISOString() };
    const actor = createActor(this.streamMachine, { input: { task, ...(turns ? { turns } : {}) }, id, ...this.inspection() });
    this.track(actor, { task, audioPath: '', pcmPath: '' });
    this.persistence.saveTask({ task, audioPath: '', pcmPath: '' });
    this.log('info', 'stream session revived', { taskId: id, finals: task.segments.length, fromSec: task.durationSec, tookOver: elsewhere });
    return actor;
  }

  /** Stops every actor (their work is aborted); their last snapshots are already with persistence. */
  stopAll(): void {
    for (const { actor } of this.live.values()) actor.stop();
    this.live.clear();
  }

  private inspection(): { inspect?: (event: InspectionEvent) => void } {
    return this.observer.inspect ? { inspect: this.observer.inspect } : {};
  }

  /** Throws `overloaded` when the user already has as many unfinished tasks as allowed. */
  admit(userId: string): void {
    if (this.activeCount(userId) >= this.options.maxActivePerUser) {
      throw new HubError('overloaded', 'you have too many unfinished tasks; wait for some to finish');
    }
  }

  private startFile(record: TaskRecord, pcmMissing = false): void {
    const { task, audioPath, pcmPath, checkpoint } = record;
    const input = { task, audioPath, pcmPath, ...(checkpoint ? { checkpoint, pcmMissing } : {}) };
    const actor = createActor(this.fileMachine, { input, id: task.id, ...this.inspection() });
    this.track(actor, record);
    actor.start();
  }

  /** Wires an actor's frames and snapshots to ports, history and persistence. Stream actors are started by their socket. */
  private track(actor: LiveActor, record: TaskRecord): void {
    const { task, audioPath, pcmPath } = record;
    const files = { audioPath, pcmPath };
    const entry: LiveTask = { actor, files };
    this.live.set(task.id, entry);
    this.observer.started?.(task.id);
    const onFrame = (frame: TaskEventFrame, chunk?: number) => {
      this.frames.record(task.id, frame);
      // Final text is stored once, apart from the task record: a chunk's
      // segments for a file, each final for a stream.
      if (frame.type === 'segments') this.persistence.saveChunk({ taskId: task.id, chunk: frame.chunk, segments: frame.segments });
      if (frame.type === 'final' && chunk !== undefined) {
        this.persistence.saveChunk({ taskId: task.id, chunk, segments: [{ start: frame.start, end: frame.end, text: frame.text }] });
      }
      for (const port of this.ports) port.publish(task.id, frame);
    };
    (actor as StreamActor).on('frame', (emitted) => {
      onFrame(emitted.frame, 'chunk' in emitted ? emitted.chunk : undefined);
      // A live final's speaker, found after it was stored: its record again, with the speaker.
      for (const { chunk, segment } of emitted.relabeled ?? []) this.persistence.saveChunk({ taskId: task.id, chunk, segments: [{ start: segment.start, end: segment.end, text: segment.text, ...(segment.speaker ? { speaker: segment.speaker } : {}) }] });
    });
    let savedSeq = task.seq;
    const onSnapshot = (context: { task: Task; chunks?: Checkpoint['chunks']; emitted?: number }) => {
      if (context.task.seq === savedSeq) return;
      savedSeq = context.task.seq;
      const checkpoint = context.chunks?.length ? { chunks: context.chunks, emitted: context.emitted ?? 0 } : undefined;
      this.persistence.saveTask({ task: context.task, ...files, ...(checkpoint ? { checkpoint } : {}) });
    };
    (actor as TaskActor).subscribe({
      next: ({ context }) => onSnapshot(context),
      complete: () => this.finish(task.id, entry),
      error: (error) => {
        this.log('error', 'task actor crashed', { taskId: task.id, error: String(error) });
        this.finish(task.id, entry);
      },
    });
  }

  /** No longer this hub's to run: out of the list, the frame log and the queue. */
  private untrack(id: string): void {
    this.observer.stopped?.(id); // while it is still listed: its last state goes out first
    this.live.delete(id);
    this.frames.forget(id);
    this.services.scheduler.forgetTask(id);
  }

  private finish(id: string, entry: LiveTask): void {
    if (this.live.get(id) !== entry) return;
    const task = entry.actor.getSnapshot().context.task;
    this.untrack(id);
    this.recent.set(id, task);
    if (this.recent.size > this.options.recentLength) this.recent.delete(this.recent.keys().next().value!);
    // The decoded pcm is only needed while transcribing; the upload stays.
    const pcm = entry.files.pcmPath;
    if (pcm) this.options.files.remove({ audioPath: '', pcmPath: pcm }).catch((error: unknown) => this.log('warn', 'could not remove a finished task\'s decoded audio', { taskId: id, error: String(error) }));
    if (!isFinished(task.status)) this.log('warn', 'task actor ended in a non-final state', { taskId: id, status: task.status });
    if (task.status === 'failed') this.log('warn', 'task failed', { taskId: id, userId: task.userId, kind: task.kind, code: task.error?.code, message: task.error?.message });
  }
}
