// Transaction detail: every field, the decision and the reasons behind the score.

import { get } from '../api.js';
import { h, mount, badge, when, money, facts, reasons, failure, pageHeader } from '../dom.js';

export async function render({ main, params }) {
  let data;
  try {
    data = await get(`/api/v1/transactions/${encodeURIComponent(params.id)}`);
  } catch (err) {
    mount(main, pageHeader('Transaction'), failure(err), h('a', { href: '/transactions' }, 'Back to transactions'));
    main.querySelector('h1').id = 'page-title';
    return;
  }
  const t = data.transaction || data;
  mount(main,
    pageHeader(`Transaction ${t.external_id || ''}`),
    h('p', {}, h('a', { href: '/transactions' }, '← Transactions')),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card' }, h('h2', {}, 'Decision'),
        facts([['Decision', badge(t.decision ?? data.decision)], ['Score', t.score ?? data.score], ['Severity', badge(t.severity ?? data.severity)],
          ['Alert', (t.alert_id || data.alert_id) ? h('a', { href: `/alerts/${encodeURIComponent(t.alert_id || data.alert_id)}` }, 'Open the alert') : 'none'],
          ['Label', t.label], ['Model', t.model_version ?? data.model_version]]),
        h('h3', {}, 'Reasons'), reasons(t.reasons || data.reasons)),
      h('section', { class: 'card' }, h('h2', {}, 'Details'),
        facts([
          ['Amount', money(t.amount, t.currency)],
          ['Account', h('a', { href: `/accounts/${encodeURIComponent(t.account_id)}` }, t.account_id)],
          ['Kind', t.kind], ['Occurred', when(t.occurred_at)], ['Received', when(t.created_at)],
          ['Merchant', t.merchant], ['MCC', t.merchant_category], ['Country', t.country], ['Channel', t.channel],
          ['Device', t.device_id], ['IP', t.ip], ['Email', t.email], ['Description', t.description],
          ['Category', t.category], ['Department', t.department], ['Submitted by', t.submitted_by],
          ['External id', t.external_id], ['Id', h('code', {}, t.id)],
          t.metadata && Object.keys(t.metadata).length ? ['Metadata', h('pre', { class: 'pre' }, JSON.stringify(t.metadata, null, 2))] : null,
        ]))));
  main.querySelector('h1').id = 'page-title';
}
