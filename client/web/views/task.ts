// One task: its transcript as it grows, downloads, copy, cancel.
import type { Task } from '../../sdk/index.ts';
import { isFinished, type Segment, type TaskEventFrame } from '../../protocol/types.ts';
import { clock, h } from '../dom.ts';
import { describe, type Shell } from '../shell.ts';

export function taskView(shell: Shell, id: string): void {
  const title = h('h1', {}, 'Transcript');
  const status = h('span', { class: 'status', id: 'task-status' });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Transcription progress', id: 'task-progress' });
  const error = h('p', { class: 'error', role: 'alert' });
  const segments = h('ol', { class: 'segments', id: 'segments', 'aria-live': 'polite' });
  const note = h('p', { class: 'muted' });
  const meta = h('p', { class: 'muted', id: 'task-meta' });
  const downloads = h('div', { class: 'row' }, ...['txt', 'srt', 'vtt', 'json'].map((f) => h('a', { class: 'button', href: `/v1/tasks/${id}/transcript?format=${f}${shell.token ? `&shell.token=${encodeURIComponent(shell.token)}` : ''}`, download: '' }, f.toUpperCase())));
  let current: Task | undefined;
  /** text of chunks still running, as whisper emits it, until each chunk's segments arrive */
  const drafts = new Map<number, Segment[]>();
  /** when this page first saw the task transcribing, and how many chunks were done then: for an estimate of what is left */
  let watched: { at: number; done: number } | undefined;
  const left = (t: Task): string => {
    if (t.kind !== 'file' || t.status !== 'transcribing' || !t.progress.total) return '';
    watched ??= { at: Date.now(), done: t.progress.done };
    const chunks = t.progress.done - watched.done;
    if (chunks <= 0) return '';
    const seconds = (((Date.now() - watched.at) / chunks) * (t.progress.total - t.progress.done)) / 1000;
    return seconds < 60 ? ` · about ${Math.max(1, Math.round(seconds))} s left` : ` · about ${Math.round(seconds / 60)} min left`;
  };
  const copy = h('button', { type: 'button', onclick: () => current && void navigator.clipboard.writeText(current.segments.map((s) => s.text).join(' ')).then(() => shell.toast('Copied.')) }, 'Copy text');
  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel' }, 'Cancel');
  cancel.addEventListener('click', async () => {
    if (!current) return;
    const finished = isFinished(current.status);
    if (finished && !confirm('Delete this task and its audio?')) return;
    await shell.hub.cancel(id).catch((e: Error) => shell.toast(e.message));
    if (finished) location.hash = '#/';
  });

  const render = (t: Task) => {
    current = t;
    title.textContent = t.name ?? (t.kind === 'stream' ? 'Live session' : 'Recording');
    status.textContent = t.status;
    status.className = `status ${t.status}`;
    meta.textContent = describe(t, true) + left(t);
    bar.value = t.status === 'completed' ? 100 : t.progress.pct;
    bar.hidden = t.kind === 'stream';
    error.textContent = t.error ? `${t.error.code}: ${t.error.message}` : '';
    note.textContent = t.model?.startsWith('synthetic') ? 'This hub runs a synthetic test model: the text is a fixed script, not your audio.' : '';
    cancel.textContent = isFinished(t.status) ? 'Delete' : 'Cancel';
    const line = (s: Segment, draft: boolean) => h('li', draft ? { class: 'draft' } : {}, h('time', {}, clock(s.start)), h('span', {}, s.text));
    const pending = [...drafts.entries()].sort(([a], [b]) => a - b).flatMap(([, list]) => list);
    segments.replaceChildren(...t.segments.map((s) => line(s, false)), ...pending.map((s) => line(s, true)));
  };
  const onFrame = (f: TaskEventFrame) => {
    if (f.type === 'partial_segments') drafts.set(f.chunk, f.segments);
    else if (f.type === 'segments') drafts.delete(f.chunk);
    else if (f.type === 'status' && isFinished(f.status)) drafts.clear();
  };
  shell.main.replaceChildren(
    h('section', { class: 'card' }, h('div', { class: 'row spread' }, title, status), meta, bar, error, note, h('div', { class: 'row' }, copy, downloads, cancel), segments),
  );
  shell.hub.task(id).then(render, () => (shell.main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Not found'), h('p', {}, 'This task does not exist, or is not yours.'))), undefined));
  shell.onLeave(shell.hub.watch(id, { onFrame, onTask: render }));
}
