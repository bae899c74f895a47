// The tasks view: upload recordings (drop or choose; resumable), and the list
// of your tasks, each row following its task live.
import { HubApiError, type TaskSummary } from '../../sdk/index.ts';
import { isFinished } from '../../protocol/types.ts';
import { bytes, h } from '../dom.ts';
import { LANGUAGES, describe, type Shell } from '../shell.ts';

export function tasksView(shell: Shell): void {
  const list = taskList(shell);
  shell.main.replaceChildren(uploadCard(shell, list.follow), list.card);
  list.load();
}

/** Your tasks, newest first, a page at a time; each unfinished one followed live. */
function taskList(shell: Shell): { card: HTMLElement; follow: (t: TaskSummary) => void; load: () => void } {
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
    if (!isFinished(t.status)) shell.onLeave(shell.hub.watch(t.id, { onTask: (u) => renderRow(u) }));
  };
  const failed = (error: HubApiError) => void (error.code !== 'unauthorized' && shell.toast(error.message)); // refused tokens go back to sign-in

  /** Newest first, a page at a time. */
  const loadOlder = () =>
    shell.hub.tasks({ limit: 30, ...(next ? { before: next } : {}) }).then((page) => {
      for (const t of page.tasks) follow(t, 'bottom');
      next = page.next;
      older.hidden = !next;
      if (!rows.size) list.append(empty);
    }, failed);
  older.addEventListener('click', () => void loadOlder());
  // Tasks started or deleted elsewhere (the CLI, another tab, a live session)
  // show up at once; after a reconnect the newest page fills what was missed.
  shell.onLeave(
    shell.hub.watchTasks({
      onWatching: () => void shell.hub.tasks({ limit: 20 }).then((page) => page.tasks.filter((t) => !rows.has(t.id)).reverse().forEach((t) => follow(t)), () => {}),
      onCreated: (f) => follow(f.task),
      onDeleted: (f) => {
        rows.get(f.id)?.remove();
        rows.delete(f.id);
      },
    }),
  );
  const card = h('section', { class: 'card', 'aria-labelledby': 'tasks-h' }, h('h2', { id: 'tasks-h' }, 'Your tasks'), list, older);
  return { card, follow: (t) => follow(t), load: () => void loadOlder() };
}

/** Drop or choose recordings; each is uploaded (one after another) and then followed in the list. */
function uploadCard(shell: Shell, follow: (t: TaskSummary) => void): HTMLElement {
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
  const upload = async (f: File, n: number, of: number) => {
    const which = of > 1 ? `${n} of ${of}: ` : '';
    uploadBar.hidden = false;
    uploadText.textContent = `Uploading ${which}${f.name} (${bytes(f.size)})…`;
    try {
      const task = await shell.hub.upload(f, {
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
      shell.toast(`${f.name}: ${error instanceof HubApiError ? error.message : 'the upload failed.'}`);
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
  return h('section', { class: 'card', 'aria-labelledby': 'upload-h' }, h('h1', { id: 'upload-h' }, 'Transcribe recordings'), drop, file, h('div', { class: 'row' }, h('label', { for: 'language' }, 'Language'), language), uploadBar, uploadText);
}
