// Alert detail: the transaction and its reasons, the account, comments and history, and the
// analyst's actions (assign, investigate, comment, resolve, dismiss, freeze the account).

import { get, patch, post, user, can } from '../api.js';
import { h, mount, badge, when, money, facts, reasons, failure, busy, toast, dialog, field, select, pageHeader, items } from '../dom.js';

export async function render({ main, params }) {
  const id = params.id;
  async function load() {
    let data;
    try {
      data = await get(`/api/v1/alerts/${encodeURIComponent(id)}`);
    } catch (err) {
      mount(main, pageHeader('Alert'), failure(err, load), h('a', { href: '/alerts' }, 'Back to the alert queue'));
      main.querySelector('h1').id = 'page-title';
      return;
    }
    draw(data);
  }

  function draw(data) {
    const a = data.alert || data;
    const tx = data.transaction;
    const account = data.account;
    const me = user();
    const final = a.status === 'resolved' || a.status === 'dismissed';
    const work = can('analyst') && !final;
    const actions = [];
    if (work) {
      actions.push(a.assignee_id && me && a.assignee_id === me.id
        ? h('button', { type: 'button', class: 'btn', id: 'unassign', onclick: (ev) => act(ev.target, () => patch(`/api/v1/alerts/${id}`, { assignee_id: null }), 'Unassigned.') }, 'Unassign')
        : h('button', { type: 'button', class: 'btn', id: 'assign', onclick: (ev) => act(ev.target, () => patch(`/api/v1/alerts/${id}`, { assignee_id: me.id }), 'Assigned to you.') }, 'Assign to me'));
      if (a.status === 'open') {
        actions.push(h('button', { type: 'button', class: 'btn', id: 'investigate', onclick: (ev) => act(ev.target, () => patch(`/api/v1/alerts/${id}`, { status: 'investigating' }), 'Marked as investigating.') }, 'Start investigating'));
      }
      actions.push(h('button', { type: 'button', class: 'btn btn-primary', id: 'resolve', onclick: resolve }, 'Resolve'));
      actions.push(h('button', { type: 'button', class: 'btn', id: 'dismiss', onclick: (ev) => act(ev.target, () => patch(`/api/v1/alerts/${id}`, { status: 'dismissed' }), 'Dismissed.') }, 'Dismiss'));
    }
    const accountId = a.account_id || (account && (account.account_id || account.id));
    if (can('analyst') && accountId && !(account && account.status === 'frozen')) {
      actions.push(h('button', { type: 'button', class: 'btn btn-danger', id: 'freeze', onclick: freeze(accountId) }, 'Freeze account'));
    }

    const comments = items(data.comments);
    const history = items(data.history);
    const commentBox = h('textarea', { name: 'body', rows: '3', maxlength: '4000', required: true });
    const commentForm = h('form', { class: 'stack' }, field('Add a comment', commentBox), h('button', { type: 'submit', class: 'btn' }, 'Comment'));
    commentForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!commentBox.value.trim()) { toast('Write something before commenting.', 'error'); return; }
      act(commentForm.querySelector('button'), () => post(`/api/v1/alerts/${id}/comments`, { body: commentBox.value }), 'Comment added.');
    });

    mount(main,
      pageHeader(`Alert · ${a.severity || ''}`, ...actions),
      h('p', {}, h('a', { href: '/alerts' }, '← Alert queue')),
      h('div', { class: 'grid-2' },
        h('section', { class: 'card' }, h('h2', {}, 'Alert'),
          facts([
            ['Status', badge(a.status)], ['Severity', badge(a.severity)], ['Type', a.type], ['Score', a.score],
            ['Outcome', a.outcome], ['Assignee', a.assignee_id ? (me && a.assignee_id === me.id ? 'me' : a.assignee_name || a.assignee_id) : 'nobody'],
            ['Created', when(a.created_at)], ['Updated', when(a.updated_at)],
            a.budget_id ? ['Budget', h('a', { href: '/budgets' }, a.budget_id)] : null,
          ]),
          h('h3', {}, 'Reasons'), reasons(a.reasons || (tx && tx.reasons))),
        h('section', { class: 'card' }, h('h2', {}, 'Transaction'),
          tx ? facts([
            ['Amount', money(tx.amount, tx.currency)], ['Decision', badge(tx.decision)], ['Kind', tx.kind],
            ['Merchant', tx.merchant], ['Country', tx.country], ['Channel', tx.channel], ['Occurred', when(tx.occurred_at)],
            ['Details', h('a', { href: `/transactions/${encodeURIComponent(tx.id)}` }, 'Open the transaction')],
          ]) : h('p', { class: 'muted' }, 'This alert is not about a single transaction.'),
          h('h2', {}, 'Account'),
          accountId ? facts([
            ['Account', h('a', { href: `/accounts/${encodeURIComponent(accountId)}` }, accountId)],
            ['Status', badge(account && account.status)],
          ]) : h('p', { class: 'muted' }, 'No account.'))),
      h('div', { class: 'grid-2' },
        h('section', { class: 'card', 'aria-label': 'Comments' }, h('h2', {}, 'Comments'),
          comments.length ? h('ul', { class: 'timeline' }, comments.map((c) => h('li', {},
            h('p', { class: 'muted small' }, `${c.author_name || c.author_email || c.author_id || 'someone'} · ${when(c.created_at)}`),
            h('p', { class: 'pre' }, c.body)))) : h('p', { class: 'muted' }, 'No comments yet. Note what you checked so the next analyst knows.'),
          can('analyst') ? commentForm : null),
        h('section', { class: 'card', 'aria-label': 'History' }, h('h2', {}, 'History'),
          history.length ? h('ul', { class: 'timeline' }, history.map((e) => h('li', {},
            h('p', { class: 'muted small' }, when(e.created_at || e.at)),
            h('p', {}, e.action || e.event || 'change',
              e.detail && typeof e.detail === 'object' && Object.keys(e.detail).length
                ? h('span', { class: 'muted small' }, ` ${Object.entries(e.detail).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}`) : null)))) : h('p', { class: 'muted' }, 'No changes yet.'))));
    main.querySelector('h1').id = 'page-title';
  }

  async function act(button, fn, message) {
    const done = await busy(button, async () => { await fn(); return true; });
    if (done) { toast(message, 'ok'); await load(); }
  }

  async function resolve(ev) {
    const values = await dialog('Resolve the alert', [
      field('Outcome', select('outcome', [['fraud', 'Fraud'], ['legitimate', 'Legitimate']], 'fraud'), 'The outcome labels the transaction for model training.'),
      field('Note', h('textarea', { name: 'note', rows: '3', maxlength: '4000', required: true })),
    ], 'Resolve');
    if (values) await act(ev.target, () => post(`/api/v1/alerts/${id}/resolve`, values), 'Alert resolved.');
  }

  function freeze(accountId) {
    return async (ev) => {
      const values = await dialog(`Freeze account ${accountId}`, [
        h('p', {}, 'Every new transaction of a frozen account is blocked until someone unfreezes it.'),
        field('Reason', h('input', { name: 'reason', required: true, maxlength: '500' })),
      ], 'Freeze');
      if (values) await act(ev.target, () => post(`/api/v1/accounts/${encodeURIComponent(accountId)}/freeze`, values), 'Account frozen.');
    };
  }

  await load();
}
