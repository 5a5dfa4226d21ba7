// Account detail: status, stats, recent transactions and alerts; freeze and unfreeze.

import { get, post, can } from '../api.js';
import { h, mount, badge, when, money, facts, failure, table, busy, toast, dialog, field, pageHeader, items, empty, num } from '../dom.js';

export async function render({ main, params }) {
  const accountId = params.id;
  const path = `/api/v1/accounts/${encodeURIComponent(accountId)}`;
  async function load() {
    let data;
    try {
      data = await get(path);
    } catch (err) {
      mount(main, pageHeader(`Account ${accountId}`), failure(err, load), h('a', { href: '/accounts' }, 'Back to accounts'));
      main.querySelector('h1').id = 'page-title';
      return;
    }
    const a = data.account || data;
    const frozen = a.status === 'frozen';
    const action = !can('analyst') ? null : frozen
      ? h('button', { type: 'button', class: 'btn', id: 'unfreeze', onclick: (ev) => change(ev.target, 'unfreeze') }, 'Unfreeze')
      : h('button', { type: 'button', class: 'btn btn-danger', id: 'freeze', onclick: (ev) => change(ev.target, 'freeze') }, 'Freeze');
    const stats = data.stats || a.stats || {};
    const txs = items(data.recent_transactions || data.transactions);
    const alerts = items(data.alerts || data.recent_alerts);
    mount(main,
      pageHeader(`Account ${accountId}`, action),
      h('p', {}, h('a', { href: '/accounts' }, '← Accounts')),
      h('section', { class: 'card' }, h('h2', {}, 'Status'),
        facts([['Status', h('span', { id: 'account-status' }, badge(a.status))], ['Frozen reason', a.frozen_reason || a.reason], ['Frozen at', frozen ? when(a.frozen_at) : null],
          ['First seen', when(a.first_seen_at || a.created_at)],
          ['Transactions', num(stats.txn_count ?? a.txn_count)],
          stats.decisions ? ['Decisions', `${num(stats.decisions.allow)} allow · ${num(stats.decisions.review)} review · ${num(stats.decisions.block)} block`] : null,
          Array.isArray(stats.totals) && stats.totals.length ? ['Total amount', stats.totals.map((x) => money(x.amount, x.currency)).join(' · ')] : null,
          stats.open_alerts !== undefined ? ['Open alerts', num(stats.open_alerts)] : null,
          ['Last seen', when(a.last_seen_at)]])),
      h('section', { class: 'card' }, h('h2', {}, 'Recent transactions'),
        txs.length ? table('Recent transactions', [
          { label: 'When', cell: (t) => h('a', { href: `/transactions/${encodeURIComponent(t.id)}` }, when(t.occurred_at)) },
          { label: 'Amount', class: 'num', cell: (t) => money(t.amount, t.currency) },
          { label: 'Merchant', cell: (t) => t.merchant || '—' },
          { label: 'Decision', cell: (t) => badge(t.decision) },
        ], txs) : empty('No transactions yet.')),
      h('section', { class: 'card' }, h('h2', {}, 'Alerts'),
        alerts.length ? table('Alerts of this account', [
          { label: 'Severity', cell: (x) => badge(x.severity) },
          { label: 'Alert', cell: (x) => h('a', { href: `/alerts/${encodeURIComponent(x.id)}` }, when(x.created_at)) },
          { label: 'Status', cell: (x) => badge(x.status) },
        ], alerts) : empty('No alerts for this account.')));
    main.querySelector('h1').id = 'page-title';
  }
  async function change(button, verb) {
    const values = await dialog(verb === 'freeze' ? `Freeze account ${accountId}` : `Unfreeze account ${accountId}`, [
      h('p', {}, verb === 'freeze' ? 'New transactions of a frozen account are blocked.' : 'New transactions will be scored normally again.'),
      field('Reason', h('input', { name: 'reason', required: true, maxlength: '500' })),
    ], verb === 'freeze' ? 'Freeze' : 'Unfreeze');
    if (!values) return;
    const ok = await busy(button, async () => { await post(`${path}/${verb}`, values); return true; });
    if (ok) { toast(verb === 'freeze' ? 'Account frozen.' : 'Account unfrozen.', 'ok'); await load(); }
  }
  await load();
}
