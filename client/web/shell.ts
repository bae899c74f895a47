// What every view of the web client is given (the connected SDK, the page's
// main element, a place to register its teardown) and the small helpers the
// views share.
import type { HubClient, TaskSummary } from '../sdk/index.ts';
import { ago, clock, h } from './dom.ts';

export interface Shell {
  readonly hub: HubClient;
  readonly main: HTMLElement;
  /** the token the client signed in with ('' on an open hub) */
  readonly token: string;
  /** runs when the view is left (watchers, sockets, timers) */
  onLeave(undo: () => void): void;
  toast(message: string): void;
}

/** The languages offered in the pickers ('' = detect). */
export const LANGUAGES = ['', 'en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'ja', 'zh'];

export function toast(message: string): void {
  const el = h('div', { class: 'toast', role: 'alert' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 5000);
}

/** A task in a line: when, how long, what language, how far. */
export function describe(t: TaskSummary, full = false): string {
  const parts = [ago(t.createdAt)];
  if (t.durationSec) parts.push(`${clock(t.durationSec)} of audio`);
  if (t.language) parts.push(t.language);
  if (t.kind === 'file' && t.progress.total && t.status !== 'completed') parts.push(`${t.progress.done} of ${t.progress.total} chunks`);
  if (full && t.model) parts.push(t.model);
  return parts.filter(Boolean).join(' · ');
}
