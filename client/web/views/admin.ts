// Admins: the hub's figures over time and every actor, to inspect or cancel;
// in cluster mode the other nodes too (their tasks and streams join the list).
import type { StatsFrame } from '../../protocol/admin.ts';
import type { ActorInfo, NodeView } from '../../sdk/admin.ts';
import { h, sparkline } from '../dom.ts';
import type { Shell } from '../shell.ts';

export function adminView(shell: Shell): void {
  const table = h('tbody', { id: 'actors' });
  const nodeRows = h('tbody', { id: 'nodes' });
  const nodesCard = h('section', { class: 'card', hidden: true }, h('h2', {}, 'Other nodes'), h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ...['Node', 'Role', 'State', 'Load', 'Memory'].map((c) => h('th', { scope: 'col' }, c)))), nodeRows)));
  let local = new Map<string, ActorInfo>();
  let remote: ActorInfo[] = [];
  const charts = h('div', { class: 'charts' });
  const detail = h('pre', { class: 'snapshot', id: 'snapshot', 'aria-live': 'polite' });
  const history: { live: number[]; batch: number[]; busy: number[]; lag: number[] } = { live: [], batch: [], busy: [], lag: [] };
  const conn = shell.hub.admin({
    onActors: (actors) => {
      local = actors;
      renderActors();
    },
    onStats: (s) => renderStats(s),
    onNodes: (nodes) => {
      renderNodes(nodes);
      remote = nodes.flatMap((n) => n.actors.filter((a) => a.kind === 'task' || a.kind === 'stream').map((a) => ({ ...a, node: n.node })));
      renderActors();
    },
    onError: (e) => shell.main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Admins only'), h('p', {}, e.message))),
  });
  shell.onLeave(() => conn.close());

  const renderNodes = (nodes: NodeView[]) => {
    nodesCard.hidden = nodes.length === 0;
    nodeRows.replaceChildren(
      ...nodes.map((n) => {
        const stats = n.stats as { engine?: { state?: string }; tasks?: { live: number; streams: number }; jobsRunning?: number; memory?: { rssMb: number } };
        const load = n.role === 'hub' ? `${stats.tasks?.live ?? 0} tasks · ${stats.tasks?.streams ?? 0} streams` : `${stats.jobsRunning ?? 0} jobs · ${n.actors.length} workers`;
        return h('tr', { 'data-node': n.node }, h('td', { class: 'mono' }, n.node), h('td', {}, n.role), h('td', {}, String(stats.engine?.state ?? '')), h('td', {}, load), h('td', {}, stats.memory ? `${stats.memory.rssMb.toFixed(0)} MB` : ''));
      }),
    );
  };
  const renderActors = () => {
    const order = ['worker', 'scheduler', 'persistence', 'stream', 'task'];
    const list = [...local.values(), ...remote].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.id.localeCompare(b.id));
    table.replaceChildren(
      ...list.map((a) => {
        const progress = a.progress as { pct: number } | undefined;
        const canCancel = a.kind === 'task' || a.kind === 'stream';
        return h(
          'tr',
          { 'data-kind': a.kind, 'data-id': a.id },
          h('td', {}, a.node ? `${a.kind} on ${String(a.node)}` : a.kind),
          h('td', { class: 'mono' }, a.id.length > 14 ? `${a.id.slice(0, 8)}…` : a.id),
          h('td', { class: `state ${a.state}` }, String(a.state)),
          h('td', {}, String(a.userId ?? '')),
          h('td', {}, progress ? `${progress.pct}%` : a.kind === 'worker' && a.job ? `chunk of ${String((a.job as { taskId?: string }).taskId ?? '').slice(0, 8)}` : ''),
          h(
            'td',
            {},
            h('button', { type: 'button', onclick: () => void conn.inspect(a.id).then((s) => (detail.textContent = JSON.stringify(s, null, 2))).catch((e: Error) => shell.toast(e.message)) }, 'Inspect'),
            canCancel ? h('button', { type: 'button', class: 'danger', onclick: () => void conn.cancel(a.id).catch((e: Error) => shell.toast(e.message)) }, 'Cancel') : null,
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
  shell.main.replaceChildren(
    h('section', { class: 'card' }, h('h1', {}, 'Hub'), charts),
    nodesCard,
    h('section', { class: 'card' }, h('h2', {}, 'Actors'), h('div', { class: 'scroll' }, h('table', { class: 'actors' }, h('thead', {}, h('tr', {}, ...['Kind', 'Id', 'State', 'User', 'Work', ''].map((c) => h('th', { scope: 'col' }, c)))), table)), detail),
  );
}
