// Budgets with progress bars (spent against the limit, and the projected end-of-period
// spend), and a form to create one.

import { get, post, can } from '../api.js';
import { h, mount, money, failure, busy, toast, field, select, pageHeader, items, empty, percent } from '../dom.js';

function progress(b) {
  const limit = Number(b.limit) || 0;
  const spent = Number(b.spent) || 0;
  const ratio = limit > 0 ? spent / limit : 0;
  const thresholds = (b.thresholds || [0.8, 1]).map(Number).sort((x, y) => x - y);
  const level = ratio >= (thresholds[thresholds.length - 1] || 1) ? 'over' : ratio >= (thresholds[0] || 0.8) ? 'warn' : 'ok';
  const bar = h('progress', { max: '100', value: String(Math.min(100, Math.round(ratio * 100))), class: `budget-bar budget-${level}`, 'aria-label': `${b.name}: ${percent(ratio, 0)} of the limit spent` });
  return h('div', { class: 'budget-progress' }, bar,
    h('p', { class: 'small' }, `${money(b.spent ?? 0, b.currency)} of ${money(b.limit, b.currency)} spent (${percent(ratio, 0)})`,
      b.remaining !== undefined ? ` · ${money(b.remaining, b.currency)} left` : '',
      b.projected !== undefined ? ` · projected ${money(b.projected, b.currency)}` : ''));
}

export async function render({ main }) {
  const body = h('div');
  const editable = can('analyst');
  const create = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create budget');
  const form = h('form', { class: 'card row' },
    field('Name', h('input', { name: 'name', required: true, maxlength: '200' })),
    field('Category', h('input', { name: 'category', maxlength: '100' })),
    field('Department', h('input', { name: 'department', maxlength: '100' })),
    field('Period', select('period', ['monthly', 'quarterly', 'yearly'], 'monthly')),
    field('Limit', h('input', { name: 'limit', required: true, inputmode: 'decimal', pattern: '[0-9]+([.][0-9]{1,3})?' })),
    field('Currency', h('input', { name: 'currency', required: true, value: 'USD', maxlength: '3', pattern: '[A-Z]{3}' })),
    create);
  const formError = h('div', { 'aria-live': 'assertive' });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(formError);
    if (!form.reportValidity()) return;
    const v = Object.fromEntries(new FormData(form).entries());
    const payload = { name: v.name, period: v.period, limit: v.limit, currency: v.currency, thresholds: [0.8, 1.0] };
    if (v.category) payload.category = v.category;
    if (v.department) payload.department = v.department;
    const ok = await busy(create, async () => {
      try { await post('/api/v1/budgets', payload); return true; } catch (err) { mount(formError, failure(err)); return false; }
    });
    if (ok) { toast('Budget created.', 'ok'); form.reset(); load(); }
  });
  mount(main, pageHeader('Budgets', h('a', { href: '/expenses', class: 'btn' }, 'Expenses')), editable ? [formError, form] : null, body);
  main.querySelector('h1').id = 'page-title';

  async function load() {
    try {
      const list = items(await get('/api/v1/budgets?limit=500'));
      // The list may not carry spend; the detail endpoint does.
      const detailed = await Promise.all(list.map((b) => (b.spent !== undefined ? b
        : get(`/api/v1/budgets/${encodeURIComponent(b.id)}`).then((d) => ({ ...b, ...(d.budget || d) }), () => b))));
      mount(body, detailed.length ? h('div', { class: 'budgets' }, detailed.map((b) => h('section', { class: 'card' },
        h('h2', {}, b.name),
        h('p', { class: 'muted small' }, [b.period, b.category && `category ${b.category}`, b.department && `department ${b.department}`].filter(Boolean).join(' · ')),
        progress(b))))
        : empty('No budgets yet.', editable ? 'Create one above; an alert is raised when spending crosses 80 % and 100 % of the limit.' : 'An analyst can create budgets.'));
    } catch (err) {
      mount(body, failure(err, load));
    }
  }
  await load();
}
