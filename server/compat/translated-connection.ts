// A live session's connection for another API's socket. The session's frames
// (those it sends directly, and its task's, heard through the in-process frame
// tap rather than a uWS topic) and its speech events go to the adapter, which
// says them that API's way. Such a client cannot resume: a drop ends the
// session with what was said.
import type { LiveConnection } from '../../actors/live-session.ts';
import type { SpeechEvent } from '../../actors/live-transcriber.ts';
import type { FrameTap } from '../../actors/frame-tap.ts';
import type { ServerFrame } from '../../client/protocol/types.ts';
import type { SocketPort } from '../ws/socket-port.ts';

export interface Translator {
  frame(frame: ServerFrame): void;
  speech(speech: SpeechEvent): void;
  /** how that API closes (default: the hub's code and reason) */
  end?(code: number, reason: string): void;
}

/** The connection, and `close()` to stop hearing the task's frames once the socket is gone. */
export function translatedConnection<Out>(port: SocketPort<Out>, frames: FrameTap, to: Translator): { conn: LiveConnection; close(): void } {
  let unfollow: (() => void) | undefined;
  const conn: LiveConnection = {
    userId: port.caller.userId,
    resumable: false,
    get gone() {
      return port.gone;
    },
    send: (frame) => to.frame(frame),
    follow: (taskId) => (unfollow = frames.listen(taskId, (frame) => to.frame(frame))),
    batch: (run) => port.batch(run),
    end: (code, reason) => (to.end ? to.end(code, reason) : port.end(code, reason)),
    onSpeech: (speech) => to.speech(speech),
  };
  return { conn, close: () => unfollow?.() };
}
