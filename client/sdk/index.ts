// The TypeScript SDK for the hub, for browsers and Node (20+):
//
//   const hub = createHubClient({ url: 'http://127.0.0.1:8080', token });
//   const task = await hub.upload(file, { name: 'talk.mp3', onProgress: (sent, total) => ... });
//   for await (const frame of hub.frames(task.id)) console.log(frame);
//   const done = await hub.transcribe(file);   // upload and wait: the finished task
//   const live = await hub.stream('microphone', {}, { onFinal: (f) => console.log(f.text) });  // or a file path in Node
//   await live.stop();
//
// Errors are HubApiError, carrying the protocol's codes.
import { HubHttp, type UploadOptions } from './http.ts';
import { TaskWatcher, type FeedHandlers, type WatchHandlers, type WatcherOptions } from './watcher.ts';
import { LiveSession, type LiveHandlers, type LiveOptions } from './live.ts';
import { AdminConnection, type AdminHandlers } from './admin.ts';
import { startStream, type StreamOptions, type StreamSource } from './stream.ts';
import { isFinished, type Task, type TaskStatus, type TranscriptFormat } from '../protocol/types.ts';
import { HubApiError } from './errors.ts';

export { HubApiError, CLOSE_CODES } from './errors.ts';
export { applyFrame } from './apply.ts';
export { LiveSession } from './live.ts';
export type { LiveHandlers, LiveOptions } from './live.ts';
export type { LiveStream, StreamOptions, StreamSource } from './stream.ts';
export type { FeedHandlers, WatchHandlers } from './watcher.ts';
export type { ActorInfo, AdminHandlers } from './admin.ts';
export type * from '../protocol/types.ts';
export type * from '../protocol/admin.ts';

export type HubClientOptions = WatcherOptions;

export function createHubClient(options: HubClientOptions) {
  const http = new HubHttp(options);
  let watcher: TaskWatcher | undefined;
  const watching = () => (watcher ??= new TaskWatcher(options));
  const connection = { url: options.url, ...(options.token ? { token: options.token } : {}), ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}) };
  return {
    /** Who the token belongs to: `{ authenticated, userId, admin }`. */
    me: () => http.me(),
    upload: (body: Blob | Uint8Array, opts?: UploadOptions): Promise<Task> => http.upload(body, opts),
    /**
     * Uploads and waits for the end: resolves with the completed task (its
     * `segments` are the transcript); a failed or cancelled task rejects with a
     * HubApiError carrying its code. `onTask` follows it on the way.
     */
    async transcribe(body: Blob | Uint8Array, opts: UploadOptions & { onTask?: (task: Task) => void } = {}): Promise<Task> {
      const uploaded = await http.upload(body, opts);
      let stop: (() => void) | undefined;
      try {
        const done = await new Promise<Task>((resolve, reject) => {
          stop = watching().watch(uploaded.id, {
            onTask: (task) => {
              opts.onTask?.(task);
              if (isFinished(task.status)) resolve(task);
            },
            onError: reject,
          });
        });
        if (done.status !== 'completed') throw new HubApiError(done.error?.code ?? done.status, done.error?.message ?? `the task was ${done.status}`);
        return done;
      } finally {
        stop?.();
      }
    },
    task: (id: string): Promise<Task> => http.task(id),
    tasks: (query?: { status?: TaskStatus; limit?: number; before?: string }) => http.tasks(query),
    transcript: (id: string, format?: TranscriptFormat): Promise<string> => http.transcript(id, format),
    /** Cancels a running task, or deletes a finished one. */
    cancel: (id: string) => http.cancelOrDelete(id),
    /** Follows a task live: returns a function that stops following. */
    watch: (id: string, handlers: WatchHandlers) => watching().watch(id, handlers),
    /** Your task feed: tasks created or deleted by any client. Returns a function that stops it. */
    watchTasks: (handlers: FeedHandlers) => watching().watchTasks(handlers),
    /** The frames about a task, until it is finished. */
    frames: (id: string) => watching().frames(id),
    /** Live text from a source: `'microphone'`, a MediaStream, a file path (Node), PCM bytes or an async iterable of audio. */
    stream: (source: StreamSource, opts?: StreamOptions, handlers?: LiveHandlers) => startStream(connection, source, opts, handlers),
    /** A live session on /v1/stream that you feed yourself with `send()`. */
    live: (opts: Omit<LiveOptions, 'url' | 'token' | 'WebSocket'> = {}, handlers?: LiveHandlers) => LiveSession.start({ ...opts, ...connection }, handlers),
    /** Watches every actor (admin tokens only). */
    admin: (handlers: AdminHandlers) => new AdminConnection(connection, handlers),
    close: () => watcher?.close(),
  };
}

export type HubClient = ReturnType<typeof createHubClient>;
