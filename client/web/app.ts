// The web client: sign in with a token, upload recordings and watch them
// transcribe, talk into the microphone, and (admins) watch the hub's actors.
// Plain TypeScript on the SDK, bundled by esbuild when the hub starts; the
// views are small functions that render into #main.
import { createHubClient, type HubClient } from '../sdk/index.ts';
import { h } from './dom.ts';
import { toast, type Shell } from './shell.ts';
import { tasksView } from './views/tasks.ts';
import { taskView } from './views/task.ts';
import { liveView } from './views/live.ts';
import { adminView } from './views/admin.ts';

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const connection = document.getElementById('connection')!;
let token = localStorage.getItem('hub-token') ?? '';
let hub: HubClient;
const cleanup: (() => void)[] = [];
const shell: Shell = {
  get hub() {
    return hub;
  },
  main,
  get token() {
    return token;
  },
  onLeave: (undo) => void cleanup.push(undo),
  toast,
};

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
  if (task) taskView(shell, decodeURIComponent(task[1]!));
  else if (path === '/live') liveView(shell);
  else if (path === '/admin') adminView(shell);
  else tasksView(shell);
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
