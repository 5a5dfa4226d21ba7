// Transaction search: by account, decision, minimum score, period, kind and free text.

import { h, mount, badge, when, money, empty, field, select, pageHeader } from '../dom.js';
import { pagedTable, filterForm } from '../paged.js';

const KEYS = ['q', 'account_id', 'decision', 'min_score', 'kind', 'from', 'to'];

export async function render({ main, query, navigate }) {
  const params = Object.fromEntries(KEYS.map((k) => [k, query.get(k) || '']));
  const list = h('div', { id: 'transaction-list' });
  const form = filterForm([
    field('Search', h('input', { type: 'search', name: 'q', value: params.q, maxlength: '200', placeholder: 'merchant, description, external id' })),
    field('Account', h('input', { name: 'account_id', value: params.account_id, maxlength: '200' })),
    field('Decision', select('decision', [['', 'Any'], 'allow', 'review', 'block'], params.decision)),
    field('Min score', h('input', { type: 'number', name: 'min_score', min: '0', max: '100', value: params.min_score })),
    field('Kind', select('kind', [['', 'Any'], 'payment', 'transfer', 'withdrawal', 'refund', 'expense'], params.kind)),
    field('From', h('input', { type: 'date', name: 'from', value: params.from })),
    field('To', h('input', { type: 'date', name: 'to', value: params.to })),
  ], (values) => navigate(`/transactions?${new URLSearchParams(Object.entries(values).filter(([, v]) => v))}`), 'Search transactions');
  mount(main, pageHeader('Transactions'), form, list);
  main.querySelector('h1').id = 'page-title';
  const apiParams = { ...params };
  // Dates from the picker are whole days in UTC; the API wants RFC 3339 instants.
  if (apiParams.from) apiParams.from = `${apiParams.from}T00:00:00Z`;
  if (apiParams.to) apiParams.to = `${apiParams.to}T23:59:59Z`;
  const filtered = KEYS.some((k) => params[k]);
  await pagedTable(list, {
    path: '/api/v1/transactions',
    params: apiParams,
    caption: 'Transactions, newest first',
    emptyState: filtered
      ? empty('No transaction matches.', 'Loosen the filters above, or clear them to see everything.')
      : empty('No transactions yet.', 'Send them with POST /api/v1/transactions using an API key with the ingest scope, or import a CSV with ledgerguard import.'),
    columns: [
      { label: 'When', class: 'nowrap', cell: (t) => h('a', { href: `/transactions/${encodeURIComponent(t.id)}` }, when(t.occurred_at)) },
      { label: 'Account', class: 'nowrap', cell: (t) => h('a', { href: `/accounts/${encodeURIComponent(t.account_id)}` }, t.account_id) },
      { label: 'Amount', class: 'num nowrap', cell: (t) => money(t.amount, t.currency) },
      { label: 'Merchant', cell: (t) => t.merchant || t.description || '—' },
      { label: 'Kind', cell: (t) => t.kind },
      { label: 'Score', class: 'num', cell: (t) => t.score ?? '—' },
      { label: 'Decision', cell: (t) => badge(t.decision) },
    ],
  });
}
