// Admin: one webhook's deliveries (one row per message with its attempts), with redelivery.

import { post } from '../api.js';
import { h, mount, badge, when, busy, toast, pageHeader, empty } from '../dom.js';
import { pagedTable } from '../paged.js';

export async function render({ main, params }) {
  const id = encodeURIComponent(params.id);
  const list = h('div');
  mount(main, pageHeader('Webhook deliveries'), h('p', {}, h('a', { href: '/admin/webhooks' }, '← Webhooks')), list);
  main.querySelector('h1').id = 'page-title';
  const load = () => pagedTable(list, {
    path: `/api/v1/webhooks/${id}/deliveries`,
    caption: 'Deliveries, newest first',
    emptyState: empty('No deliveries yet.', 'Use Send test on the webhooks page, or wait for a subscribed event.'),
    columns: [
      { label: 'Event', cell: (d) => d.event_type || d.type || d.event || '—' },
      { label: 'Status', cell: (d) => badge(d.status) },
      { label: 'Attempts', class: 'num', cell: (d) => (Array.isArray(d.attempts) ? d.attempts.length : d.attempts ?? '—') },
      { label: 'Last response', cell: (d) => {
        const last = Array.isArray(d.attempts) && d.attempts.length ? d.attempts[d.attempts.length - 1] : d;
        return [last.response_status ?? last.status_code ?? '', last.error ? ` ${last.error}` : ''].join('') || '—';
      } },
      { label: 'Next attempt', cell: (d) => when(d.next_attempt_at) },
      { label: 'Created', cell: (d) => when(d.created_at) },
      { label: 'Actions', cell: (d) => h('button', { type: 'button', class: 'btn btn-small', onclick: async (ev) => {
        const ok = await busy(ev.target, async () => { await post(`/api/v1/webhooks/${id}/deliveries/${encodeURIComponent(d.id)}/redeliver`); return true; });
        if (ok) { toast('Redelivery queued.', 'ok'); load(); }
      } }, 'Redeliver') },
    ],
  });
  await load();
}
