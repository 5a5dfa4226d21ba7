// Admin: the audit log (append-only, hash-chained), filterable.

import { h, mount, when, empty, field, pageHeader } from '../dom.js';
import { pagedTable, filterForm } from '../paged.js';

const KEYS = ['action', 'actor_id', 'target_type', 'target_id', 'from', 'to'];

export async function render({ main, query, navigate }) {
  const params = Object.fromEntries(KEYS.map((k) => [k, query.get(k) || '']));
  const list = h('div', { id: 'audit-list' });
  const form = filterForm([
    field('Action', h('input', { name: 'action', value: params.action, maxlength: '100', placeholder: 'e.g. rule.created' })),
    field('Actor id', h('input', { name: 'actor_id', value: params.actor_id, maxlength: '200' })),
    field('Target type', h('input', { name: 'target_type', value: params.target_type, maxlength: '50' })),
    field('Target id', h('input', { name: 'target_id', value: params.target_id, maxlength: '200' })),
    field('From', h('input', { type: 'date', name: 'from', value: params.from })),
    field('To', h('input', { type: 'date', name: 'to', value: params.to })),
  ], (values) => navigate(`/admin/audit?${new URLSearchParams(Object.entries(values).filter(([, v]) => v))}`), 'Filter the audit log');
  mount(main, pageHeader('Audit log'),
    h('p', { class: 'muted' }, 'Every row carries the hash of the previous one; check the chain with ledgerguard audit verify.'),
    form, list);
  main.querySelector('h1').id = 'page-title';
  const apiParams = { ...params };
  if (apiParams.from) apiParams.from = `${apiParams.from}T00:00:00Z`;
  if (apiParams.to) apiParams.to = `${apiParams.to}T23:59:59Z`;
  await pagedTable(list, {
    path: '/api/v1/audit',
    params: apiParams,
    caption: 'Audit entries, newest first',
    emptyState: empty('No audit entries match.', 'Clear the filters to see everything.'),
    columns: [
      { label: 'When', class: 'nowrap', cell: (e) => when(e.created_at || e.at || e.timestamp) },
      { label: 'Action', class: 'nowrap', cell: (e) => h('code', {}, e.action) },
      { label: 'Actor', cell: (e) => e.actor_label || e.actor_id || e.actor_type || '—' },
      { label: 'Target', cell: (e) => [e.target_type, e.target_id].filter(Boolean).join(' ') || '—' },
      { label: 'IP', cell: (e) => e.client_ip || e.ip || '—' },
      { label: 'Details', cell: (e) => (e.details && Object.keys(e.details).length ? h('code', { class: 'small wrap' }, JSON.stringify(e.details)) : '—') },
    ],
  });
}
