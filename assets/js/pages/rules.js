// Rules list.

import { can } from '../api.js';
import { h, mount, badge, when, empty, pageHeader } from '../dom.js';
import { pagedTable } from '../paged.js';

export async function render({ main }) {
  const list = h('div', { id: 'rule-list' });
  mount(main, pageHeader('Rules', can('analyst') ? h('a', { href: '/rules/new', class: 'btn btn-primary', id: 'new-rule' }, 'New rule') : null),
    h('p', { class: 'muted' }, 'Rules are CEL expressions over txn.*, account.*, velocity.*, features.* and lists. Each match adds its score; review, block and freeze actions set the decision.'),
    list);
  main.querySelector('h1').id = 'page-title';
  await pagedTable(list, {
    path: '/api/v1/rules',
    caption: 'Rules',
    emptyState: empty('No rules yet.', 'Create one with New rule; the default rule pack ships enabled on a fresh install.'),
    columns: [
      { label: 'Name', cell: (r) => h('a', { href: `/rules/${encodeURIComponent(r.id)}` }, r.name) },
      { label: 'Action', cell: (r) => badge(r.action) },
      { label: 'Score', class: 'num', cell: (r) => r.score },
      { label: 'Enabled', cell: (r) => (r.enabled ? 'yes' : 'no') },
      { label: 'Version', class: 'num', cell: (r) => r.version ?? '—' },
      { label: 'Updated', cell: (r) => when(r.updated_at) },
    ],
  });
}
