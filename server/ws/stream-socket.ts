// `/v1/stream`: live microphone audio in, partial and final text out.
// Translation only: the query parameters become the session's audio format,
// binary frames its audio, text frames its control messages; the session
// (actors/live-session.ts) does the rest. Its frames reach the socket through
// its task topic, like every task frame; `ready` and `closed` are sent directly.
import { streamControlSchema, streamParamsSchema, type StreamParams } from '../../client/protocol/messages.ts';
import { CLOSE } from '../../client/protocol/close.ts';
import type { LiveSessions } from '../../actors/live-sessions.ts';
import { MAX_FRAME_BYTES, type LiveConnection } from '../../actors/live-session.ts';
import { topics, type SocketPort, type SocketRoute } from './socket-port.ts';

/** `knowsModel`: whether `model=` names the model this hub runs (else `unknown_model`, 4002). */
export function streamRoute(sessions: LiveSessions, knowsModel: (name: string) => boolean): SocketRoute<typeof streamControlSchema, StreamParams> {
  return {
    path: '/v1/stream',
    params: { schema: streamParamsSchema, close: CLOSE.badAudioFormat },
    messages: streamControlSchema,
    audio: true,
    // uWS's own limit sits above ours, so an oversized frame is answered with 4013.
    limits: { maxPayloadBytes: 16 * MAX_FRAME_BYTES, idleTimeoutSec: 0 /* ours: HUB_STREAM_IDLE_SEC, with its own close code */ },
    connect(port, params) {
      const conn = liveConnection(port);
      if (params.model && !knowsModel(params.model)) {
        const message = `unknown model "${params.model.slice(0, 100)}": this hub runs one model`;
        port.send({ type: 'error', code: 'unknown_model', message });
        port.end(CLOSE.badAudioFormat, message);
        return {};
      }
      const session = sessions.open(conn, params);
      if (!session) return {};
      return {
        onAudio: (bytes) => session.onAudio(conn, bytes),
        onMessage: (control) => session.onControl(conn, control),
        onClose: () => session.onClose(conn),
      };
    },
  };
}

/** The socket port as a live session sees it. */
export function liveConnection(port: SocketPort): LiveConnection {
  return {
    userId: port.caller.userId,
    get gone() {
      return port.gone;
    },
    send: (frame) => port.send(frame),
    follow: (taskId) => port.subscribe(topics.task(taskId)),
    batch: (run) => port.batch(run),
    end: (code, reason) => port.end(code, reason),
    // Of the speech events, the hub's protocol says only this one (asked for with utterance_end_ms).
    onSpeech: (speech, id) => speech.kind === 'utterance_end' && port.send({ type: 'utterance_end', id, lastWordEnd: speech.lastWordEnd }),
  };
}
