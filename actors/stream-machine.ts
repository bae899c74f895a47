// The stream actor: one per live microphone session, recorded as a task of
// kind `stream`. It owns the session's public state (status, finals, seq) and
// emits every change once as a frame with the next seq; the audio and the
// engine passes belong to its child, the live transcriber. The session
// survives its connection: a client that reconnects within the grace period
// carries on; one that does not is flushed and marked `interrupted`.
import { setup, fromCallback, enqueueActions, sendTo, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import type { Segment, Task, TaskError, TaskEventFrame, TaskStatus, Word } from '../client/protocol/types.ts';
import { LiveTranscriber, vadEndSilenceMs, type LiveEvent, type LiveTranscriberDeps, type PassTiming, type SpeechEvent, type TurnOptions } from './live-transcriber.ts';
import type { Engine } from './chunk-runner.ts';
import type { Scheduler } from './scheduler.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import { EnergyVad, type VoiceDetector } from '../native/audio/vad.ts';
import { LiveSpeakers } from './live-speakers.ts';

export interface StreamServices {
  scheduler: Scheduler;
  engine: Engine;
  /** how long a session waits for its client to come back */
  graceMs: number;
  /** a voice detector for a session whose next sample is at `startAt`, with the session's turn options (default: the energy detector) */
  detector?: (startAt: number, taskId: string, turns: TurnOptions) => VoiceDetector;
  /** the timing of each pass of a session, and the end of the session (for admission and metrics) */
  onPass?: (sessionId: string, pass: PassTiming) => void;
  onEnd?: (sessionId: string) => void;
  /** the speaker embedding of a final's audio, on an engine slot (absent: live speakers cannot be told apart here) */
  embedSpeech?: (samples: Float32Array, signal: AbortSignal, task: { id: string; userId: string }) => Promise<Float32Array>;
}

export interface StreamInput {
  task: Task;
  /** how the session's utterances end (a session setting, not stored) */
  turns?: TurnOptions;
}

export interface StreamContext {
  task: Task;
  turns: TurnOptions;
  /** samples received, all connections together */
  samples: number;
}

export type StreamEvent =
  | { type: 'AUDIO'; samples: Float32Array }
  | { type: 'FINALIZE' }
  | { type: 'CLEAR' }
  | { type: 'CLOSE' }
  | { type: 'DISCONNECTED' }
  | { type: 'RESUMED' }
  | { type: 'SPEAKERS'; labels: { segId: string; chunk: number; speaker: string }[] }
  | { type: 'SPEAKERS_FAILED'; message: string }
  | LiveEvent;

export type StreamEmitted =
  | {
      type: 'frame';
      frame: TaskEventFrame;
      /** for a final with text: the index it is stored under (its place among the session's finals) */
      chunk?: number;
      /** for `speakers`: the finals whose stored record changes (their speaker), by index */
      relabeled?: { chunk: number; segment: Segment }[];
    }
  /** an utterance started, stopped or is done: for the socket of this session only, not a frame of the task */
  | { type: 'speech'; speech: SpeechEvent };

type FrameBody = TaskEventFrame extends infer F ? (F extends TaskEventFrame ? Omit<F, 'id' | 'seq'> : never) : never;

const FLUSH_TIMEOUT_MS = 60_000;

function advance(task: Task, patch: Partial<Task>, body: FrameBody) {
  const seq = task.seq + 1;
  return { task: { ...task, ...patch, seq, updatedAt: new Date().toISOString() }, frame: { ...body, id: task.id, seq } as TaskEventFrame };
}

export function createStreamMachine(services: StreamServices) {
  return setup({
    types: { context: {} as StreamContext, events: {} as StreamEvent, input: {} as StreamInput, emitted: {} as StreamEmitted },
    actors: {
      transcriber: fromCallback<StreamEvent, { task: Task; turns: TurnOptions }>(({ input: { task, turns }, sendBack, receive }) => {
        const startAt = Math.round((task.durationSec ?? 0) * SAMPLE_RATE);
        const deps: LiveTranscriberDeps = {
          scheduler: services.scheduler,
          engine: services.engine,
          taskId: task.id,
          userId: task.userId,
          language: task.language,
          ...(task.options ? { options: task.options } : {}),
          startAt,
          detector: services.detector?.(startAt, task.id, turns) ?? new EnergyVad({ endSilenceMs: vadEndSilenceMs(turns) }, startAt),
          turns,
          onPass: (pass) => services.onPass?.(task.id, pass),
        };
        // diarize=1: each final's speaker, told apart online (a final's index among the session's finals is its chunk).
        const embed = services.embedSpeech;
        const speakers = task.options?.diarize
          ? embed
            ? new LiveSpeakers({ embed: (samples, signal) => embed(samples, signal, task), onLabels: (labels) => sendBack({ type: 'SPEAKERS', labels }), onError: (message) => sendBack({ type: 'SPEAKERS_FAILED', message }) }, startAt)
            : (sendBack({ type: 'SPEAKERS_FAILED', message: 'this hub\'s engines cannot tell speakers apart' }), undefined)
          : undefined;
        let nextFinal = task.segments.length;
        const live = new LiveTranscriber(deps, (event) => {
          if (event.type === 'FINAL' && event.text) speakers?.final(event.segId, nextFinal++, event.start, event.end);
          sendBack(event);
        });
        receive((event) => {
          if (event.type === 'AUDIO') {
            live.push(event.samples);
            speakers?.push(event.samples);
          }
          else if (event.type === 'FINALIZE') live.finalize();
          else if (event.type === 'CLEAR') live.clear();
          else if (event.type === 'CLOSE') live.flush();
        });
        return () => {
          live.stop();
          speakers?.stop();
          services.onEnd?.(task.id);
        };
      }),
    },
    actions: {
      frame: enqueueActions(({ context, event, enqueue }) => {
        let step: ReturnType<typeof advance> | undefined;
        let chunk: number | undefined;
        const words = (e: { words?: Word[] }) => (e.words?.length ? { words: e.words } : {});
        if (event.type === 'PARTIAL') {
          step = advance(context.task, {}, { type: 'partial', segId: event.segId, start: event.start, end: event.end, text: event.text, ...words(event) });
        } else if (event.type === 'FINAL') {
          const segments = event.text ? [...context.task.segments, { start: event.start, end: event.end, text: event.text, ...words(event) }] : context.task.segments;
          const n = segments.length;
          if (event.text) chunk = n - 1;
          // A stream's chunks are its finals, all of them done: pct agrees with done/total.
          step = advance(context.task, { segments, progress: { done: n, total: n, pct: n > 0 ? 100 : 0 } }, { type: 'final', segId: event.segId, start: event.start, end: event.end, text: event.text, ...words(event) });
        } else if (event.type === 'LAG') {
          step = advance(context.task, {}, { type: 'lag', seconds: event.seconds });
        } else if (event.type === 'PASS_FAILED') {
          // The session goes on; the client is told what was lost.
          step = advance(context.task, {}, { type: 'error', code: 'engine_failed', message: event.message });
        }
        if (!step) return;
        enqueue.assign({ task: step.task });
        enqueue.emit({ type: 'frame', frame: step.frame, ...(chunk !== undefined ? { chunk } : {}) });
      }),
      relabel: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'SPEAKERS') return;
        const segments = [...context.task.segments];
        const relabeled: { chunk: number; segment: Segment }[] = [];
        for (const { chunk, speaker } of event.labels) {
          const segment = segments[chunk];
          if (!segment) continue;
          segments[chunk] = { ...segment, speaker, ...(segment.words ? { words: segment.words.map((w) => ({ ...w, speaker })) } : {}) };
          relabeled.push({ chunk, segment: segments[chunk]! });
        }
        const { task, frame } = advance(context.task, { segments }, { type: 'speakers', labels: Object.fromEntries(event.labels.map((l) => [l.segId, l.speaker])) });
        enqueue.assign({ task });
        enqueue.emit({ type: 'frame', frame, relabeled });
      }),
      speakersLeftOut: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'SPEAKERS_FAILED') return;
        enqueue.assign({ task: { ...context.task, warnings: [...(context.task.warnings ?? []), `speakers left out: ${event.message}`] } });
      }),
      countAudio: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'AUDIO') return;
        const samples = context.samples + event.samples.length;
        enqueue.assign({ samples, task: { ...context.task, durationSec: Math.round((samples / SAMPLE_RATE) * 1000) / 1000 } });
      }),
      speech: enqueueActions(({ event, enqueue }) => {
        if (event.type === 'SPEECH') enqueue.emit({ type: 'speech', speech: event.speech });
      }),
      forward: sendTo('transcriber', ({ event }) => event),
      flush: sendTo('transcriber', { type: 'CLOSE' }),
      finish: enqueueActions(({ context, enqueue }, params: { status: TaskStatus; error?: TaskError }) => {
        const n = context.task.segments.length;
        const { task, frame } = advance(
          context.task,
          { status: params.status, progress: { done: n, total: n, pct: n > 0 ? 100 : 0 }, ...(params.error ? { error: params.error } : {}) },
          params.error ? { type: 'status', status: params.status, error: params.error } : { type: 'status', status: params.status },
        );
        enqueue.assign({ task });
        enqueue.emit({ type: 'frame', frame });
      }),
    },
    delays: {
      grace: services.graceMs,
      flushTimeout: FLUSH_TIMEOUT_MS,
    },
  }).createMachine({
    id: 'stream',
    context: ({ input }) => ({ task: input.task, turns: input.turns ?? {}, samples: Math.round((input.task.durationSec ?? 0) * SAMPLE_RATE) }),
    invoke: { id: 'transcriber', src: 'transcriber', input: ({ context }) => ({ task: context.task, turns: context.turns }) },
    on: {
      SPEECH: { actions: 'speech' },
      PARTIAL: { actions: 'frame' },
      FINAL: { actions: 'frame' },
      LAG: { actions: 'frame' },
      PASS_FAILED: { actions: 'frame' },
      SPEAKERS: { actions: 'relabel' },
      SPEAKERS_FAILED: { actions: 'speakersLeftOut' },
    },
    initial: 'connected',
    states: {
      connected: {
        on: {
          AUDIO: { actions: ['countAudio', 'forward'] },
          FINALIZE: { actions: 'forward' },
          CLEAR: { actions: 'forward' },
          CLOSE: 'closing',
          DISCONNECTED: 'detached',
        },
      },
      detached: {
        on: { RESUMED: 'connected' },
        after: { grace: 'expiring' },
      },
      closing: {
        entry: 'flush',
        on: { FLUSHED: 'completed' },
        after: { flushTimeout: 'completed' },
      },
      expiring: {
        entry: 'flush',
        on: { FLUSHED: 'interrupted' },
        after: { flushTimeout: 'interrupted' },
      },
      completed: { type: 'final', entry: { type: 'finish', params: { status: 'completed' } } },
      interrupted: {
        type: 'final',
        entry: { type: 'finish', params: { status: 'interrupted', error: { code: 'disconnected', message: 'the client went away and did not come back in time' } } },
      },
    },
  });
}

export type StreamMachine = ReturnType<typeof createStreamMachine>;
export type StreamActor = ActorRefFrom<StreamMachine>;
export type StreamSnapshot = SnapshotFrom<StreamMachine>;
