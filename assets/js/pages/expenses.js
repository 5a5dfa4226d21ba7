// Expenses: the summary by category or department for a period, and the claims.

import { get, query } from '../api.js';
import { h, mount, badge, when, money, empty, field, select, pageHeader, failure, table, num } from '../dom.js';
import { pagedTable, filterForm } from '../paged.js';

export async function render({ main, query: q, navigate }) {
  const params = { submitted_by: q.get('submitted_by') || '', department: q.get('department') || '', category: q.get('category') || '', from: q.get('from') || '', to: q.get('to') || '' };
  const groupBy = q.get('group_by') || 'category';
  const summary = h('section', { class: 'card', id: 'expense-summary' });
  const list = h('div', { id: 'expense-list' });
  const form = filterForm([
    field('Submitted by', h('input', { name: 'submitted_by', value: params.submitted_by, maxlength: '200' })),
    field('Department', h('input', { name: 'department', value: params.department, maxlength: '100' })),
    field('Category', h('input', { name: 'category', value: params.category, maxlength: '100' })),
    field('From', h('input', { type: 'date', name: 'from', value: params.from })),
    field('To', h('input', { type: 'date', name: 'to', value: params.to })),
    field('Group by', select('group_by', ['category', 'department'], groupBy)),
  ], (values) => navigate(`/expenses?${new URLSearchParams(Object.entries(values).filter(([, v]) => v))}`), 'Filter expenses');
  mount(main, pageHeader('Expenses', h('a', { href: '/budgets', class: 'btn' }, 'Budgets')), form, summary, list);
  main.querySelector('h1').id = 'page-title';
  const range = {
    from: params.from ? `${params.from}T00:00:00Z` : '',
    to: params.to ? `${params.to}T23:59:59Z` : '',
  };
  try {
    const s = await get(`/api/v1/expenses/summary${query({ ...range, group_by: groupBy })}`);
    const rows = s.items || [];
    mount(summary, h('h2', {}, `Spending by ${groupBy}`),
      h('p', { class: 'muted' }, `${when(s.from)} – ${when(s.to)}`),
      rows.length ? table('Expense summary', [
        { label: groupBy === 'department' ? 'Department' : 'Category', cell: (r) => r.key || '(none)' },
        { label: 'Claims', class: 'num', cell: (r) => num(r.count) },
        { label: 'Amount', class: 'num nowrap', cell: (r) => money(r.amount, r.currency) },
      ], rows) : empty('No expenses in this period.', 'Submit claims with POST /api/v1/expenses or pick another period.'));
  } catch (err) {
    mount(summary, failure(err));
  }
  await pagedTable(list, {
    path: '/api/v1/expenses',
    params: { ...params, ...range },
    caption: 'Expense claims',
    emptyState: empty('No expense claims match.', 'Expenses are transactions with kind "expense"; send them with POST /api/v1/expenses.'),
    columns: [
      { label: 'When', class: 'nowrap', cell: (t) => h('a', { href: `/transactions/${encodeURIComponent(t.id)}` }, when(t.occurred_at)) },
      { label: 'Submitted by', cell: (t) => t.submitted_by || '—' },
      { label: 'Department', cell: (t) => t.department || '—' },
      { label: 'Category', cell: (t) => [t.category || '—', t.category_source === 'model' ? h('span', { class: 'muted small' }, ` (auto ${Math.round((t.category_confidence || 0) * 100)}%)`) : null] },
      { label: 'Merchant', cell: (t) => t.merchant || t.description || '—' },
      { label: 'Amount', class: 'num nowrap', cell: (t) => money(t.amount, t.currency) },
      { label: 'Decision', cell: (t) => badge(t.decision) },
    ],
  });
}
