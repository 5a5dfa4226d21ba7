// Accounts: active and frozen, searchable, with freeze and unfreeze.

import { h, mount, badge, when, empty, field, select, pageHeader } from '../dom.js';
import { pagedTable, filterForm } from '../paged.js';

export async function render({ main, query, navigate }) {
  const params = { status: query.get('status') || '', q: query.get('q') || '' };
  const list = h('div', { id: 'account-list' });
  const form = filterForm([
    field('Search', h('input', { type: 'search', name: 'q', value: params.q, maxlength: '200' })),
    field('Status', select('status', [['', 'Any'], 'active', 'frozen'], params.status)),
  ], (values) => navigate(`/accounts?${new URLSearchParams(Object.entries(values).filter(([, v]) => v))}`), 'Search accounts');
  mount(main, pageHeader('Accounts'), form, list);
  main.querySelector('h1').id = 'page-title';
  await pagedTable(list, {
    path: '/api/v1/accounts',
    params,
    caption: 'Accounts',
    emptyState: empty('No accounts found.', 'Accounts are created when their first transaction arrives.'),
    columns: [
      { label: 'Account', class: 'nowrap', cell: (a) => h('a', { href: `/accounts/${encodeURIComponent(a.account_id || a.account_ref || a.id)}` }, a.account_id || a.account_ref || a.id) },
      { label: 'Status', cell: (a) => badge(a.status) },
      { label: 'Transactions', class: 'num', cell: (a) => a.txn_count ?? a.transaction_count ?? a.stats?.count ?? '—' },
      { label: 'First seen', class: 'nowrap', cell: (a) => when(a.first_seen_at || a.created_at) },
      { label: 'Last seen', class: 'nowrap', cell: (a) => when(a.last_seen_at || a.updated_at) },
    ],
  });
}
