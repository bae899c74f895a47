// The microphone: stream it to the hub and watch partials become finals.
import type { LiveStream } from '../../sdk/index.ts';
import { h } from '../dom.ts';
import { LANGUAGES, type Shell } from '../shell.ts';

export function liveView(shell: Shell): void {
  const start = h('button', { type: 'button', class: 'primary', id: 'start' }, 'Start');
  const finalize = h('button', { type: 'button', id: 'finalize', disabled: true }, 'Finalize');
  const stop = h('button', { type: 'button', id: 'stop', disabled: true }, 'Stop');
  const language = h('select', { id: 'live-language', 'aria-label': 'Language' }, ...LANGUAGES.map((l) => h('option', { value: l }, l || 'detect')));
  const meter = h('meter', { id: 'level', min: 0, max: 1, value: 0, 'aria-label': 'Microphone level' });
  const state = h('p', { class: 'muted', role: 'status', id: 'live-status' }, 'Press Start and speak.');
  const transcript = h('div', { class: 'live-text', id: 'live-text', 'aria-live': 'polite' });
  const pieces = new Map<string, HTMLSpanElement>();
  let live: LiveStream | undefined;

  const show = (segId: string, text: string, final: boolean) => {
    let el = pieces.get(segId);
    if (!el) {
      el = h('span', {});
      pieces.set(segId, el);
      transcript.append(el, ' ');
    }
    el.textContent = text;
    el.className = final ? 'final' : 'partial';
  };
  const end = async () => {
    stop.disabled = finalize.disabled = true;
    const seconds = await live?.stop().catch(() => NaN);
    state.textContent = Number.isFinite(seconds) ? `Done: ${seconds!.toFixed(1)} s of audio.` : 'Stopped.';
    if (live) state.append(' ', h('a', { href: `#/task/${live.id}` }, 'Open the transcript'));
    live = undefined;
    start.disabled = false;
    meter.value = 0;
  };
  start.addEventListener('click', async () => {
    start.disabled = true;
    state.textContent = 'Connecting…';
    try {
      const options = { ...(language.value ? { language: language.value } : {}), onLevel: (level: number) => (meter.value = Math.min(1, level * 4)) };
      live = await shell.hub.stream('microphone', options, {
        onPartial: (f) => show(f.segId, f.text, false),
        onFinal: (f) => (f.text ? show(f.segId, f.text, true) : pieces.get(f.segId)?.remove()),
        onLag: (f) => (state.textContent = `The hub is ${f.seconds.toFixed(0)} s behind.`),
        onReconnecting: (r) => (state.textContent = r ? 'Connection lost: reconnecting…' : 'Listening.'),
        onError: (e) => shell.toast(e.message),
      });
      state.textContent = 'Listening.';
      stop.disabled = finalize.disabled = false;
    } catch (error) {
      shell.toast(error instanceof Error ? error.message : 'Could not start.');
      await end();
    }
  });
  finalize.addEventListener('click', () => live?.finalize());
  stop.addEventListener('click', () => void end());
  shell.onLeave(() => void end());
  shell.main.replaceChildren(
    h('section', { class: 'card' }, h('h1', {}, 'Live transcription'), h('div', { class: 'row' }, start, finalize, stop, h('label', { for: 'live-language' }, 'Language'), language), h('div', { class: 'row' }, h('span', { class: 'muted' }, 'Level'), meter), state, transcript),
  );
}
