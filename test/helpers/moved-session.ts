// A live session cut off from its hub (killed, or gone away in cluster mode)
// and resumed where the client reconnects, as the SDK does: `resume=<id>` with
// `since=<last seq seen>`, then the audio re-sent from the `durationSec` the
// hub says it holds.
import { TestSocket } from './hub.ts';
import type { Task } from '../../client/protocol/types.ts';

type Frame = TestSocket['frames'][number];

async function sendPaced(ws: TestSocket, audio: Uint8Array): Promise<void> {
  for (let at = 0; at < audio.length; at += 6400) {
    ws.sendRaw(audio.subarray(at, at + 6400)); // 0.2 s of s16le every 20 ms
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens a session, sends `audio` (s16le, 16 kHz) and waits for a final with text: the session's id, its finals so far, the last seq seen. */
export async function sessionUntilFinal(wsUrl: string, token: string, audio: Uint8Array): Promise<{ ws: TestSocket; id: string; finals: Frame[]; seen: number }> {
  const ws = await TestSocket.open(wsUrl, '/v1/stream', token);
  const { id } = (await ws.next((f) => f.type === 'ready')) as unknown as { id: string };
  await sendPaced(ws, audio);
  await ws.next((f) => f.type === 'final' && typeof f.text === 'string' && f.text.length > 0, 60_000);
  await new Promise((r) => setTimeout(r, 300)); // (the stored record catches up with the finals)
  const finals = ws.frames.filter((f) => f.type === 'final' && f.text);
  const seen = Math.max(...ws.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq as number));
  return { ws, id, finals, seen };
}

/** Resumes session `id` on `wsUrl`, re-sends `audio` from where the hub says it holds it, closes, and waits for the end. */
export async function resumeSession(wsUrl: string, token: string, id: string, seen: number, audio: Uint8Array): Promise<{ ready: Frame; caughtUp: Task & { frameSeq: number } }> {
  const ws = await TestSocket.open(wsUrl, `/v1/stream?resume=${id}&since=${seen}`, token);
  try {
    const ready = await ws.next((f) => f.type === 'ready', 10_000);
    const caughtUp = await ws.next((f) => f.type === 'task');
    await sendPaced(ws, audio.subarray(Math.round((ready.durationSec as number) * 16_000) * 2));
    ws.sendRaw(JSON.stringify({ type: 'close' })); // (control messages are text)
    await ws.next((f) => f.type === 'closed', 120_000);
    return { ready, caughtUp: { ...(caughtUp.task as Task), frameSeq: caughtUp.seq as number } };
  } finally {
    ws.close();
  }
}
