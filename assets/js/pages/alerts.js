// Alert queue: open work first (the server orders by severity, then age), with filters.

import { h, mount, badge, when, empty, field, select, pageHeader } from '../dom.js';
import { pagedTable, filterForm } from '../paged.js';
import { user } from '../api.js';
import { onLiveEvent } from '../live.js';

export async function render({ main, query, navigate }) {
  const params = {
    status: query.get('status') ?? 'open',
    severity: query.get('severity') || '',
    type: query.get('type') || '',
    assignee: query.get('assignee') || '',
    account_id: query.get('account_id') || '',
  };
  const list = h('div', { id: 'alert-list' });
  const me = user();
  const form = filterForm([
    field('Status', select('status', [['', 'Any'], 'open', 'investigating', 'resolved', 'dismissed'], params.status)),
    field('Severity', select('severity', [['', 'Any'], 'critical', 'high', 'medium', 'low'], params.severity)),
    field('Type', select('type', [['', 'Any'], 'transaction', 'budget'], params.type)),
    field('Assignee', select('assignee', [['', 'Anyone'], [me ? me.id : '', 'Me']], params.assignee)),
    field('Account', h('input', { name: 'account_id', value: params.account_id, maxlength: '200' })),
  ], (values) => navigate(`/alerts?${new URLSearchParams(values)}`));
  mount(main, pageHeader('Alerts'), form, list);
  main.querySelector('h1').id = 'page-title';
  const load = () => pagedTable(list, {
    path: '/api/v1/alerts',
    params,
    caption: 'Alerts, highest severity first',
    emptyState: empty('No alerts match these filters.', params.status === 'open'
      ? 'The queue is clear. New alerts appear here when a transaction is scored review or block.'
      : 'Change or clear the filters above.'),
    columns: [
      { label: 'Severity', cell: (a) => badge(a.severity) },
      { label: 'Alert', class: 'nowrap', cell: (a) => h('a', { href: `/alerts/${encodeURIComponent(a.id)}` }, a.type === 'budget' ? 'Budget alert' : `Score ${a.score ?? '—'}`) },
      { label: 'Account', class: 'nowrap', cell: (a) => a.account_id ? h('a', { href: `/accounts/${encodeURIComponent(a.account_id)}` }, a.account_id) : '—' },
      { label: 'Reasons', cell: (a) => (a.reasons || []).slice(0, 2).map((r) => r.message || r.code).join('; ') || '—' },
      { label: 'Status', cell: (a) => badge(a.status) },
      { label: 'Assignee', class: 'nowrap', cell: (a) => (a.assignee_id ? (me && a.assignee_id === me.id ? 'me' : a.assignee_name || 'assigned') : '—') },
      { label: 'Created', class: 'nowrap', cell: (a) => when(a.created_at) },
    ],
  });
  await load();
  let pending = null;
  const off = onLiveEvent((ev) => {
    if (!ev.type.startsWith('alert.')) return;
    clearTimeout(pending);
    pending = setTimeout(load, 500);
  });
  return () => { off(); clearTimeout(pending); };
}
