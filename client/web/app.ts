// The web client: sign in with a token, upload recordings and watch them
// transcribe, talk into the microphone, and (admins) watch the hub's actors.
// Plain TypeScript on the SDK, bundled by esbuild when the hub starts; the
// views are small functions that render into #main.
import { createHubClient, HubApiError, type HubClient, type Task, type TaskSummary, type LiveStream } from '../sdk/index.ts';
import { isFinished } from '../protocol/types.ts';
import { type StatsFrame } from '../protocol/admin.ts';
import type { ActorInfo } from '../sdk/admin.ts';
import { ago, bytes, clock, h, sparkline } from './dom.ts';

const LANGUAGES = ['', 'en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'ja', 'zh'];

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const connection = document.getElementById('connection')!;
let token = localStorage.getItem('hub-token') ?? '';
let hub: HubClient;
const cleanup: (() => void)[] = [];

function connect(): void {
  hub?.close();
  hub = createHubClient({
    url: location.origin,
    ...(token ? { token } : {}),
    onConnection: (up) => {
      connection.textContent = up ? 'live' : 'reconnecting…';
      connection.className = up ? 'pill ok' : 'pill warn';
    },
  });
}

function toast(message: string): void {
  const el = h('div', { class: 'toast', role: 'alert' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 5000);
}

/** A task in a line: when, how long, what language, how far. */
function describe(t: TaskSummary, full = false): string {
  const parts = [ago(t.createdAt)];
  if (t.durationSec) parts.push(`${clock(t.durationSec)} of audio`);
  if (t.language) parts.push(t.language);
  if (t.kind === 'file' && t.progress.total && t.status !== 'completed') parts.push(`${t.progress.done} of ${t.progress.total} chunks`);
  if (full && t.model) parts.push(t.model);
  return parts.filter(Boolean).join(' · ');
}

/** Is the token good? (Open hubs accept none.) Shows the admin link to admins. */
async function signedIn(): Promise<boolean> {
  const me = await hub.me();
  document.getElementById('admin-link')!.hidden = !me.admin;
  document.getElementById('signout')!.hidden = me.open;
  return me.authenticated;
}

// ---- sign in ---------------------------------------------------------------

function signInView(message = ''): void {
  nav.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true, 'aria-label': 'API token' });
  const form = h(
    'form',
    { class: 'card narrow', onsubmit: (e: Event) => (e.preventDefault(), void signIn(input.value.trim())) },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste the token your hub administrator gave you.'),
    h('label', { for: 'token' }, 'Token'),
    input,
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  main.replaceChildren(form);
  input.focus();
}

async function signIn(value: string): Promise<void> {
  token = value;
  connect();
  if (await signedIn()) {
    localStorage.setItem('hub-token', token);
    location.hash = '#/';
    route();
  } else signInView('That token was refused.');
}

// ---- tasks: upload and list -------------------------------------------------

function tasksView(): void {
  const file = h('input', { type: 'file', id: 'file', accept: 'audio/*,video/*', multiple: true, class: 'visually-hidden' });
  const language = h('select', { id: 'language', 'aria-label': 'Language' }, ...LANGUAGES.map((l) => h('option', { value: l }, l || 'detect')));
  const uploadBar = h('progress', { id: 'upload-progress', max: 1, value: 0, 'aria-label': 'Upload progress', hidden: true });
  const uploadText = h('p', { class: 'muted', role: 'status', id: 'upload-status' });
  const drop = h(
    'label',
    { class: 'drop', for: 'file', id: 'drop' },
    h('strong', {}, 'Drop recordings here'),
    h('span', { class: 'muted' }, 'or click to choose — any audio or video files'),
  );
  const list = h('ul', { class: 'tasks', id: 'tasks', 'aria-label': 'Your tasks' });
  const empty = h('li', { class: 'muted' }, 'Nothing yet: upload a recording above.');
  const older = h('button', { type: 'button', hidden: true }, 'Show older');
  const rows = new Map<string, HTMLLIElement>();
  let next: string | undefined;

  const renderRow = (t: TaskSummary, at: 'top' | 'bottom' = 'top') => {
    const running = t.status === 'transcribing' && t.kind === 'file';
    const row = h(
      'li',
      {},
      h(
        'a',
        { href: `#/task/${t.id}` },
        h('span', { class: 'name' }, t.name ?? `${t.kind === 'stream' ? 'Live session' : 'Recording'} ${t.id.slice(0, 8)}`),
        h('span', { class: `status ${t.status}` }, running ? `${t.progress.pct}%` : t.status),
        h('span', { class: 'meta' }, describe(t)),
      ),
      running ? h('progress', { max: 100, value: t.progress.pct, 'aria-label': `Progress of ${t.name ?? t.id}` }) : null,
    );
    empty.remove();
    const old = rows.get(t.id);
    if (old) old.replaceWith(row);
    else if (at === 'top') list.prepend(row);
    else list.append(row);
    rows.set(t.id, row);
  };
  const follow = (t: TaskSummary, at: 'top' | 'bottom' = 'top') => {
    if (rows.has(t.id)) return;
    renderRow(t, at);
    if (!isFinished(t.status)) cleanup.push(hub.watch(t.id, { onTask: (u) => renderRow(u) }));
  };
  const failed = (error: HubApiError) => void (error.code !== 'unauthorized' && toast(error.message)); // refused tokens go back to sign-in

  /** Newest first, a page at a time. */
  const loadOlder = () =>
    hub.tasks({ limit: 30, ...(next ? { before: next } : {}) }).then((page) => {
      for (const t of page.tasks) follow(t, 'bottom');
      next = page.next;
      older.hidden = !next;
      if (!rows.size) list.append(empty);
    }, failed);
  older.addEventListener('click', () => void loadOlder());
  // Tasks started or deleted elsewhere (the CLI, another tab, a live session)
  // show up at once; after a reconnect the newest page fills what was missed.
  cleanup.push(
    hub.watchTasks({
      onWatching: () => void hub.tasks({ limit: 20 }).then((page) => page.tasks.filter((t) => !rows.has(t.id)).reverse().forEach((t) => follow(t)), () => {}),
      onCreated: (f) => follow(f.task),
      onDeleted: (f) => {
        rows.get(f.id)?.remove();
        rows.delete(f.id);
      },
    }),
  );

  const upload = async (f: File, n: number, of: number) => {
    const which = of > 1 ? `${n} of ${of}: ` : '';
    uploadBar.hidden = false;
    uploadText.textContent = `Uploading ${which}${f.name} (${bytes(f.size)})…`;
    try {
      const task = await hub.upload(f, {
        name: f.name,
        ...(language.value ? { language: language.value } : {}),
        onProgress: (sent, total) => {
          uploadBar.value = total ? sent / total : 0;
          uploadText.textContent = `Uploading ${which}${f.name}: ${bytes(sent)} of ${bytes(total)} (${Math.floor(uploadBar.value * 100)}%)`;
        },
      });
      uploadText.textContent = `${f.name} is in the queue.`;
      follow(task);
    } catch (error) {
      uploadText.textContent = '';
      toast(`${f.name}: ${error instanceof HubApiError ? error.message : 'the upload failed.'}`);
    } finally {
      uploadBar.hidden = true;
      uploadBar.value = 0;
    }
  };
  /** One after another, so each gets the whole link and its own progress. */
  let queue = Promise.resolve();
  const uploadAll = (files: FileList | null | undefined) => {
    const chosen = [...(files ?? [])];
    chosen.forEach((f, i) => (queue = queue.then(() => upload(f, i + 1, chosen.length))));
  };
  file.addEventListener('change', () => (uploadAll(file.files), (file.value = '')));
  drop.addEventListener('dragover', (e) => (e.preventDefault(), drop.classList.add('over')));
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploadAll((e as DragEvent).dataTransfer?.files);
  });

  main.replaceChildren(
    h('section', { class: 'card', 'aria-labelledby': 'upload-h' }, h('h1', { id: 'upload-h' }, 'Transcribe recordings'), drop, file, h('div', { class: 'row' }, h('label', { for: 'language' }, 'Language'), language), uploadBar, uploadText),
    h('section', { class: 'card', 'aria-labelledby': 'tasks-h' }, h('h2', { id: 'tasks-h' }, 'Your tasks'), list, older),
  );
  void loadOlder();
}

// ---- one task: the transcript ------------------------------------------------

function taskView(id: string): void {
  const title = h('h1', {}, 'Transcript');
  const status = h('span', { class: 'status', id: 'task-status' });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Transcription progress', id: 'task-progress' });
  const error = h('p', { class: 'error', role: 'alert' });
  const segments = h('ol', { class: 'segments', id: 'segments', 'aria-live': 'polite' });
  const note = h('p', { class: 'muted' });
  const meta = h('p', { class: 'muted', id: 'task-meta' });
  const downloads = h('div', { class: 'row' }, ...['txt', 'srt', 'vtt', 'json'].map((f) => h('a', { class: 'button', href: `/v1/tasks/${id}/transcript?format=${f}${token ? `&token=${encodeURIComponent(token)}` : ''}`, download: '' }, f.toUpperCase())));
  let current: Task | undefined;
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
  const copy = h('button', { type: 'button', onclick: () => current && void navigator.clipboard.writeText(current.segments.map((s) => s.text).join(' ')).then(() => toast('Copied.')) }, 'Copy text');
  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel' }, 'Cancel');
  cancel.addEventListener('click', async () => {
    if (!current) return;
    const finished = isFinished(current.status);
    if (finished && !confirm('Delete this task and its audio?')) return;
    await hub.cancel(id).catch((e: Error) => toast(e.message));
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
    segments.replaceChildren(...t.segments.map((s) => h('li', {}, h('time', {}, clock(s.start)), h('span', {}, s.text))));
  };
  main.replaceChildren(
    h('section', { class: 'card' }, h('div', { class: 'row spread' }, title, status), meta, bar, error, note, h('div', { class: 'row' }, copy, downloads, cancel), segments),
  );
  hub.task(id).then(render, () => (main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Not found'), h('p', {}, 'This task does not exist, or is not yours.'))), undefined));
  cleanup.push(hub.watch(id, { onTask: render }));
}

// ---- live: the microphone ----------------------------------------------------

function liveView(): void {
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
      live = await hub.stream('microphone', options, {
        onPartial: (f) => show(f.segId, f.text, false),
        onFinal: (f) => (f.text ? show(f.segId, f.text, true) : pieces.get(f.segId)?.remove()),
        onLag: (f) => (state.textContent = `The hub is ${f.seconds.toFixed(0)} s behind.`),
        onReconnecting: (r) => (state.textContent = r ? 'Connection lost: reconnecting…' : 'Listening.'),
        onError: (e) => toast(e.message),
      });
      state.textContent = 'Listening.';
      stop.disabled = finalize.disabled = false;
    } catch (error) {
      toast(error instanceof Error ? error.message : 'Could not start.');
      await end();
    }
  });
  finalize.addEventListener('click', () => live?.finalize());
  stop.addEventListener('click', () => void end());
  cleanup.push(() => void end());
  main.replaceChildren(
    h('section', { class: 'card' }, h('h1', {}, 'Live transcription'), h('div', { class: 'row' }, start, finalize, stop, h('label', { for: 'live-language' }, 'Language'), language), h('div', { class: 'row' }, h('span', { class: 'muted' }, 'Level'), meter), state, transcript),
  );
}

// ---- admin: the hub's actors -----------------------------------------------

function adminView(): void {
  const table = h('tbody', { id: 'actors' });
  const charts = h('div', { class: 'charts' });
  const detail = h('pre', { class: 'snapshot', id: 'snapshot', 'aria-live': 'polite' });
  const history: { live: number[]; batch: number[]; busy: number[]; lag: number[] } = { live: [], batch: [], busy: [], lag: [] };
  const conn = hub.admin({
    onActors: (actors) => renderActors(actors),
    onStats: (s) => renderStats(s),
    onError: (e) => main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Admins only'), h('p', {}, e.message))),
  });
  cleanup.push(() => conn.close());

  const renderActors = (actors: Map<string, ActorInfo>) => {
    const order = ['worker', 'scheduler', 'persistence', 'stream', 'task'];
    const list = [...actors.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.id.localeCompare(b.id));
    table.replaceChildren(
      ...list.map((a) => {
        const progress = a.progress as { pct: number } | undefined;
        const canCancel = a.kind === 'task' || a.kind === 'stream';
        return h(
          'tr',
          { 'data-kind': a.kind, 'data-id': a.id },
          h('td', {}, a.kind),
          h('td', { class: 'mono' }, a.id.length > 14 ? `${a.id.slice(0, 8)}…` : a.id),
          h('td', { class: `state ${a.state}` }, String(a.state)),
          h('td', {}, String(a.userId ?? '')),
          h('td', {}, progress ? `${progress.pct}%` : a.kind === 'worker' && a.job ? `chunk of ${String((a.job as { taskId?: string }).taskId ?? '').slice(0, 8)}` : ''),
          h(
            'td',
            {},
            h('button', { type: 'button', onclick: () => void conn.inspect(a.id).then((s) => (detail.textContent = JSON.stringify(s, null, 2))).catch((e: Error) => toast(e.message)) }, 'Inspect'),
            canCancel ? h('button', { type: 'button', class: 'danger', onclick: () => void conn.cancel(a.id).catch((e: Error) => toast(e.message)) }, 'Cancel') : null,
          ),
        );
      }),
    );
  };
  const renderStats = (s: StatsFrame) => {
    const { queue, workers, eventLoop: loop, memory } = s;
    for (const [k, v] of [['live', queue.live], ['batch', queue.batch], ['busy', workers.busy], ['lag', loop.p99Ms]] as const) {
      history[k].push(v);
      if (history[k].length > 60) history[k].shift();
    }
    charts.replaceChildren(
      h('figure', {}, sparkline(history.busy, workers.size, 'busy workers'), h('figcaption', {}, `workers busy ${workers.busy}/${workers.size}`)),
      h('figure', {}, sparkline(history.live, Math.max(1, ...history.live), 'live queue'), h('figcaption', {}, `live queue ${queue.live}`)),
      h('figure', {}, sparkline(history.batch, Math.max(1, ...history.batch), 'batch queue'), h('figcaption', {}, `batch queue ${queue.batch}`)),
      h('figure', {}, sparkline(history.lag, Math.max(10, ...history.lag), 'event loop lag'), h('figcaption', {}, `loop p99 ${loop.p99Ms.toFixed(1)} ms · ${memory.rssMb.toFixed(0)} MB`)),
    );
  };
  main.replaceChildren(
    h('section', { class: 'card' }, h('h1', {}, 'Hub'), charts),
    h('section', { class: 'card' }, h('h2', {}, 'Actors'), h('div', { class: 'scroll' }, h('table', { class: 'actors' }, h('thead', {}, h('tr', {}, ...['Kind', 'Id', 'State', 'User', 'Work', ''].map((c) => h('th', { scope: 'col' }, c)))), table)), detail),
  );
}

// ---- routing -----------------------------------------------------------------

/** Undoes what the current view set up (watchers, sockets, timers). */
function leaveView(): void {
  for (const undo of cleanup.splice(0)) undo();
}

async function route(): Promise<void> {
  leaveView();
  // With a stored token the view starts at once, its requests in flight beside
  // the token check (one round trip less on a slow link); it is replaced by the
  // sign-in form if the token turns out to be refused.
  const who = signedIn().catch(() => false);
  if (!token && !(await who)) return signInView();
  nav.hidden = false;
  const path = location.hash.replace(/^#/, '') || '/';
  for (const a of nav.querySelectorAll('a')) a.toggleAttribute('aria-current', a.getAttribute('href') === `#${path}`);
  const task = /^\/task\/(.+)$/.exec(path);
  if (task) taskView(decodeURIComponent(task[1]!));
  else if (path === '/live') liveView();
  else if (path === '/admin') adminView();
  else tasksView();
  if (!(await who)) {
    leaveView();
    signInView();
  }
}

document.getElementById('signout')!.addEventListener('click', () => {
  localStorage.removeItem('hub-token');
  token = '';
  connect();
  signInView();
});
window.addEventListener('hashchange', () => void route());
connect();
void route();
