// The task actor: one per uploaded file. It owns the task's truth (status,
// progress, segments, seq) and emits every change exactly once as a frame with
// the next seq. Side effects live in its two child actors, decoding and
// transcription, which report back with events; cancelling stops them, and
// stopping them aborts their work.
import { and, setup, fromCallback, enqueueActions, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { asErrorCode, type Task, type TaskError, type TaskEventFrame, type TaskStatus } from '../client/protocol/types.ts';
import type { ChunkPlan } from '../native/audio/chunk-planner.ts';
import type { PreparedAudio } from '../native/audio/audio-worker.ts';
import { samplesToSeconds } from '../native/audio/pcm.ts';
import { runChunks, type ChunkRunEvent, type Engine } from './chunk-runner.ts';
import type { Scheduler } from './scheduler.ts';
import type { TaskRecord } from './stores/task-store.ts';
import type { EngineSegment } from '../native/engine/types.ts';
import { stitchChunk } from './stitch.ts';
import { labelSegments, speechWindows, type SpeechWindow } from '../native/diarize/windows.ts';
import type { DiarizeJob, DiarizeResult } from '../native/diarize/speaker-embedder.ts';

export interface TaskServices {
  prepareAudio(inputPath: string, pcmPath: string, signal: AbortSignal): Promise<PreparedAudio>;
  /** decode slots, handed out fairly between users like engine slots */
  decodeSlots: Scheduler;
  scheduler: Scheduler;
  engine: Engine;
  /** tells a task's speakers apart on an engine slot (absent: the engine cannot, and a task asking is told so) */
  diarize?: (job: DiarizeJob, signal: AbortSignal) => Promise<DiarizeResult>;
  onChunkRetry?: (taskId: string, index: number, attempt: number, error: unknown) => void;
  onChunkPreempted?: (taskId: string, index: number) => void;
}

/** A task's record; when resuming after a restart its checkpoint says where the work stood. */
export interface TaskInput extends Omit<TaskRecord, 'audioRemovedAt'> {
  /** the pcm the checkpoint's plan refers to is gone: decode again first */
  pcmMissing?: boolean;
}

export interface TaskContext {
  task: Task;
  audioPath: string;
  pcmPath: string;
  chunks: ChunkPlan[];
  /** chunks [0, emitted) are on the transcript, in order */
  emitted: number;
  /** finished chunks waiting for an earlier one: engine output relative to the chunk (silent chunks: empty) */
  pending: Record<number, EngineSegment[]>;
  /** no decoded audio yet (new, or resumed without its pcm) */
  needsAudio: boolean;
}

export type TaskEvent =
  | { type: 'DECODE_STARTED' }
  | { type: 'DECODED'; audio: PreparedAudio }
  | { type: 'PREPARE_FAILED'; code: string; message: string }
  | ChunkRunEvent
  | { type: 'DIARIZED'; windows: SpeechWindow[]; labels: number[] }
  | { type: 'DIARIZE_FAILED'; message: string }
  | { type: 'CANCEL' };

export interface FrameEmitted {
  type: 'frame';
  frame: TaskEventFrame;
}

type FrameBody = TaskEventFrame extends infer F ? (F extends TaskEventFrame ? Omit<F, 'id' | 'seq'> : never) : never;

/** Applies a change to the public task and numbers the frames that announce it. */
function advance(task: Task, patch: Partial<Task>, bodies: FrameBody[]): { task: Task; frames: TaskEventFrame[] } {
  const frames = bodies.map((body, i) => ({ ...body, id: task.id, seq: task.seq + i + 1 }) as TaskEventFrame);
  return { task: { ...task, ...patch, seq: task.seq + bodies.length, updatedAt: new Date().toISOString() }, frames };
}

/**
 * The task as its checkpoint left it. A chunk's segments are stored before the
 * checkpoint that counts it (a hub can die between the two writes): such a
 * chunk runs again, so its stored segments are dropped here, not kept twice.
 */
function onlyCheckpointed({ task, checkpoint }: TaskInput): Task {
  if (!checkpoint) return task;
  const segments = task.segments.filter((s) => (s.chunk ?? 0) < checkpoint.emitted);
  return segments.length === task.segments.length ? task : { ...task, segments };
}

const pctOf = (done: number, total: number) => (total === 0 ? 0 : Math.floor((done / total) * 1000) / 10);

/**
 * Puts finished chunks on the transcript in chunk order (a later chunk that
 * finishes first waits for its predecessors) and reports progress.
 */
function takeResults(context: TaskContext, added: Record<number, EngineSegment[]>, language?: string) {
  const pending = { ...context.pending, ...added };
  const bodies: FrameBody[] = [];
  let emitted = context.emitted;
  let segments = context.task.segments;
  for (; pending[emitted]; emitted++) {
    const chunk = context.chunks[emitted]!;
    const placed = stitchChunk(emitted, pending[emitted]!, samplesToSeconds(chunk.start), samplesToSeconds(chunk.end), segments.at(-1)?.end ?? 0);
    delete pending[emitted];
    if (placed.length) segments = [...segments, ...placed];
    bodies.push({ type: 'segments', chunk: emitted, segments: placed });
  }
  const done = emitted + Object.keys(pending).length;
  const progress = { done, total: context.chunks.length, pct: pctOf(done, context.chunks.length) };
  const known = language ?? context.task.language;
  const durationSec = context.task.durationSec;
  bodies.push({ type: 'progress', ...progress, ...(durationSec !== undefined ? { durationSec } : {}), ...(known ? { language: known } : {}) });
  const patch: Partial<Task> = { segments, progress, ...(language && !context.task.language ? { language } : {}) };
  return { pending, emitted, ...advance(context.task, patch, bodies) };
}

/**
 * The text of a chunk still running, as whisper emits it, placed on the
 * recording's timeline: a `partial_segments` frame, replaced by the chunk's
 * `segments` frame. The transcript does not change.
 */
function takePartial(context: TaskContext, index: number, raw: EngineSegment[]) {
  const chunk = context.chunks[index]!;
  const offset = samplesToSeconds(chunk.start);
  const floor = index === context.emitted ? (context.task.segments.at(-1)?.end ?? 0) : offset;
  const segments = stitchChunk(index, raw, offset, samplesToSeconds(chunk.end), floor);
  return advance(context.task, {}, [{ type: 'partial_segments', chunk: index, segments }]);
}

/** The plan again after a restart lost the pcm: the chunks already on the transcript must be the same. */
const samePlan = (a: ChunkPlan[], b: ChunkPlan[], upTo: number) =>
  a.length >= upTo && b.length >= upTo && a.slice(0, upTo).every((c, i) => c.start === b[i]!.start && c.end === b[i]!.end);

export function createTaskMachine(services: TaskServices) {
  return setup({
    types: {
      context: {} as TaskContext,
      events: {} as TaskEvent,
      input: {} as TaskInput,
      emitted: {} as FrameEmitted,
    },
    actors: {
      prepareAudio: fromCallback<TaskEvent, { task: Task; audioPath: string; pcmPath: string }>(({ input, sendBack }) => {
        const abort = new AbortController();
        const decode = async () => {
          const lease = await services.decodeSlots.acquire({ userId: input.task.userId, taskId: input.task.id, priority: 'batch' }, abort.signal);
          try {
            sendBack({ type: 'DECODE_STARTED' });
            return await services.prepareAudio(input.audioPath, input.pcmPath, abort.signal);
          } finally {
            lease.release();
            services.decodeSlots.forgetTask(input.task.id);
          }
        };
        decode()
          .then((audio) => sendBack({ type: 'DECODED', audio }))
          .catch((error: { code?: string; message?: string }) => {
            // At shutdown the task stays where it is, for the next run to resume.
            if (abort.signal.aborted || error.code === 'shutting_down') return;
            sendBack({ type: 'PREPARE_FAILED', code: error.code ?? 'internal', message: error.message ?? String(error) });
          });
        return () => abort.abort();
      }),
      transcribeChunks: fromCallback<TaskEvent, TaskContext>(({ input, sendBack }) => {
        const abort = new AbortController();
        const pending = input.chunks.filter((c) => c.index >= input.emitted && !input.pending[c.index]);
        runChunks(
          {
            scheduler: services.scheduler,
            engine: services.engine,
            onRetry: (i, n, e) => services.onChunkRetry?.(input.task.id, i, n, e),
            onPreempted: (i) => services.onChunkPreempted?.(input.task.id, i),
          },
          { taskId: input.task.id, userId: input.task.userId, pcmPath: input.pcmPath, language: input.task.language, ...(input.task.options ? { options: input.task.options } : {}), chunks: pending, priority: 'batch' },
          (event) => {
            if (!abort.signal.aborted) sendBack(event);
          },
          abort.signal,
        ).catch(() => {}); // failures arrive as CHUNK_FAILED; aborts are ours
        return () => abort.abort();
      }),
      diarize: fromCallback<TaskEvent, TaskContext>(({ input, sendBack }) => {
        const abort = new AbortController();
        const { task, pcmPath } = input;
        const windows = speechWindows(task.segments);
        const run = async () => {
          if (windows.length === 0) return sendBack({ type: 'DIARIZED', windows, labels: [] });
          if (!services.diarize) throw new Error('this hub\'s engines cannot tell speakers apart (the engine nodes of cluster mode do not yet)');
          // Its own job on an engine slot, after the task's chunks, counted by the scheduler like one.
          const lease = await services.scheduler.acquire({ userId: task.userId, taskId: task.id, priority: 'batch' }, abort.signal);
          try {
            const speakers = task.options?.speakers;
            const job: DiarizeJob = { pcmPath, windows: windows.map((w) => [w.start, w.end]), ...(speakers ? { speakers } : {}), tag: { taskId: task.id } };
            const { labels } = await services.diarize(job, abort.signal);
            sendBack({ type: 'DIARIZED', windows, labels });
          } finally {
            lease.release();
          }
        };
        run().catch((error: { message?: string }) => {
          if (!abort.signal.aborted) sendBack({ type: 'DIARIZE_FAILED', message: error.message ?? String(error) });
        });
        return () => abort.abort();
      }),
    },
    actions: {
      recordSpeakers: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'DIARIZED' || event.labels.length === 0) return;
        // Every chunk's segments again, now with their speakers (a segment split where the speaker changes).
        const segments = labelSegments(context.task.segments, event.windows, event.labels);
        const chunks = [...new Set(segments.map((s) => s.chunk ?? 0))];
        const { task, frames } = advance(context.task, { segments }, chunks.map((chunk) => ({ type: 'segments' as const, chunk, segments: segments.filter((s) => (s.chunk ?? 0) === chunk) })));
        enqueue.assign({ task });
        for (const frame of frames) enqueue.emit({ type: 'frame', frame });
      }),
      recordDiarizeFailure: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'DIARIZE_FAILED') return;
        // Speakers are an addition: the transcript stands without them, and the task says why.
        const warnings = [...(context.task.warnings ?? []), `speakers left out: ${event.message}`];
        enqueue.assign({ task: { ...context.task, warnings } });
      }),
      announce: enqueueActions(({ context, enqueue }, params: { status: TaskStatus }) => {
        if (context.task.status === params.status) return;
        const { task, frames } = advance(context.task, { status: params.status }, [{ type: 'status', status: params.status }]);
        enqueue.assign({ task });
        for (const frame of frames) enqueue.emit({ type: 'frame', frame });
      }),
      announceFailure: enqueueActions(({ context, event, enqueue }) => {
        const error: TaskError =
          event.type === 'PREPARE_FAILED' || event.type === 'CHUNK_FAILED' ? { code: asErrorCode(event.code), message: event.message } : { code: 'internal', message: 'the task failed' };
        const { task, frames } = advance(context.task, { status: 'failed', error }, [{ type: 'status', status: 'failed', error }]);
        enqueue.assign({ task });
        for (const frame of frames) enqueue.emit({ type: 'frame', frame });
      }),
      recordPlan: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'DECODED') return;
        const { chunks, durationSec } = event.audio;
        const silent: Record<number, EngineSegment[]> = {};
        for (const c of chunks) if (c.silent) silent[c.index] = [];
        // Resumed without its pcm: keep what is on the transcript if the new plan agrees with it.
        const kept = samePlan(context.chunks, chunks, context.emitted) ? context.emitted : 0;
        const planned: TaskContext = {
          ...context,
          chunks,
          emitted: kept,
          pending: {},
          task: { ...context.task, durationSec, segments: kept ? context.task.segments : [] },
        };
        const { pending, emitted, task, frames } = takeResults(planned, Object.fromEntries(Object.entries(silent).filter(([i]) => Number(i) >= kept)));
        enqueue.assign({ chunks, pending, emitted, task, needsAudio: false });
        for (const frame of frames) enqueue.emit({ type: 'frame', frame });
      }),
      recordPartial: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'CHUNK_PARTIAL' || event.index < context.emitted || context.pending[event.index] || !context.chunks[event.index]) return;
        const { task, frames } = takePartial(context, event.index, event.segments);
        enqueue.assign({ task });
        for (const frame of frames) enqueue.emit({ type: 'frame', frame });
      }),
      recordChunk: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'CHUNK_DONE' || event.index < context.emitted || context.pending[event.index]) return;
        const { pending, emitted, task, frames } = takeResults(context, { [event.index]: event.result.segments }, event.result.language ?? undefined);
        enqueue.assign({ pending, emitted, task });
        for (const frame of frames) enqueue.emit({ type: 'frame', frame });
      }),
    },
    guards: {
      allChunksDone: ({ context }) => context.chunks.length > 0 && context.emitted === context.chunks.length,
      wantsSpeakers: ({ context }) => context.task.options?.diarize === true,
      /** resumed with a plan (and its pcm): straight back to transcribing, skipping what is done */
      hasPlan: ({ context }) => context.chunks.length > 0 && !context.needsAudio,
    },
  }).createMachine({
    id: 'task',
    context: ({ input }) => ({
      task: onlyCheckpointed(input),
      audioPath: input.audioPath,
      pcmPath: input.pcmPath,
      chunks: input.checkpoint?.chunks ?? [],
      emitted: input.checkpoint?.emitted ?? 0,
      pending: {},
      needsAudio: !input.checkpoint || Boolean(input.pcmMissing),
    }),
    initial: 'booting',
    states: {
      booting: {
        always: [{ guard: 'hasPlan', target: 'transcribing' }, { target: 'preparing' }],
      },
      preparing: {
        invoke: { src: 'prepareAudio', input: ({ context }) => ({ task: context.task, audioPath: context.audioPath, pcmPath: context.pcmPath }) },
        initial: 'queued',
        states: {
          queued: { entry: { type: 'announce', params: { status: 'queued' } }, on: { DECODE_STARTED: 'decoding' } },
          decoding: { entry: { type: 'announce', params: { status: 'decoding' } } },
        },
        on: {
          DECODED: { target: 'transcribing', actions: 'recordPlan' },
          PREPARE_FAILED: 'failed',
        },
      },
      transcribing: {
        entry: { type: 'announce', params: { status: 'transcribing' } },
        invoke: { src: 'transcribeChunks', input: ({ context }) => context },
        always: [
          { guard: and(['allChunksDone', 'wantsSpeakers']), target: 'diarizing' },
          { guard: 'allChunksDone', target: 'completed' },
        ],
        on: {
          CHUNK_PARTIAL: { actions: 'recordPartial' },
          CHUNK_DONE: { actions: 'recordChunk' },
          CHUNK_FAILED: 'failed',
        },
      },
      // The transcript is whole; who said what is worked out over all of it (one set of speakers per task).
      diarizing: {
        invoke: { src: 'diarize', input: ({ context }) => context },
        on: {
          DIARIZED: { target: 'completed', actions: 'recordSpeakers' },
          DIARIZE_FAILED: { target: 'completed', actions: 'recordDiarizeFailure' },
        },
      },
      completed: { type: 'final', entry: { type: 'announce', params: { status: 'completed' } } },
      failed: { type: 'final', entry: 'announceFailure' },
      cancelled: { type: 'final', entry: { type: 'announce', params: { status: 'cancelled' } } },
    },
    on: {
      CANCEL: { target: '.cancelled' },
    },
  });
}

export type TaskMachine = ReturnType<typeof createTaskMachine>;
export type TaskActor = ActorRefFrom<TaskMachine>;
export type TaskSnapshot = SnapshotFrom<TaskMachine>;
