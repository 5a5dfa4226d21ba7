// Admin: webhooks (create with the signing secret shown once, test, delete).

import { get, post, del } from '../api.js';
import { h, mount, when, failure, busy, toast, field, pageHeader, items, empty, table } from '../dom.js';

const EVENTS = ['alert.created', 'alert.updated', 'account.frozen', 'account.unfrozen', 'budget.threshold_crossed', 'backup.completed'];

export async function render({ main }) {
  const body = h('div');
  const secretSlot = h('div', { 'aria-live': 'polite' });
  const formError = h('div', { 'aria-live': 'assertive' });
  const create = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add webhook');
  const form = h('form', { class: 'card stack', novalidate: true },
    field('URL', h('input', { type: 'url', name: 'url', required: true, maxlength: '2000', placeholder: 'https://example.com/hooks/ledgerguard' })),
    h('fieldset', { class: 'scopes' }, h('legend', {}, 'Events'),
      EVENTS.map((e) => h('label', {}, h('input', { type: 'checkbox', name: 'events', value: e, checked: e.startsWith('alert.') }), ` ${e}`))),
    h('div', {}, create));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(formError);
    const fd = new FormData(form);
    const payload = { url: String(fd.get('url') || '').trim(), events: fd.getAll('events') };
    if (!payload.events.length) { mount(formError, failure({ message: 'Pick at least one event.' })); return; }
    const created = await busy(create, async () => {
      try { return await post('/api/v1/webhooks', payload); } catch (err) { mount(formError, failure(err)); return null; }
    });
    if (!created) return;
    const hook = created.webhook || created;
    mount(secretSlot, h('section', { class: 'card notice', role: 'status' },
      h('h2', {}, 'Webhook added'),
      h('p', {}, 'Its signing secret (Standard Webhooks) is shown once. Configure the receiver with it now.'),
      h('code', { class: 'secret' }, created.secret || hook.secret || '—'),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => mount(secretSlot) }, 'I have stored it')));
    form.reset();
    load();
  });
  mount(main, pageHeader('Webhooks'), secretSlot, formError, form, body);
  main.querySelector('h1').id = 'page-title';

  async function load() {
    try {
      const hooks = items(await get('/api/v1/webhooks?limit=500'));
      mount(body, hooks.length ? table('Webhooks', [
        { label: 'URL', cell: (w) => h('a', { href: `/admin/webhooks/${encodeURIComponent(w.id)}` }, w.url) },
        { label: 'Events', cell: (w) => (w.events || []).join(', ') },
        { label: 'Created', cell: (w) => when(w.created_at) },
        { label: 'Actions', cell: (w) => [
          h('button', { type: 'button', class: 'btn btn-small', onclick: async (ev) => { const ok = await busy(ev.target, async () => { await post(`/api/v1/webhooks/${encodeURIComponent(w.id)}/test`); return true; }); if (ok) toast('Test message queued; see its deliveries.', 'ok'); } }, 'Send test'),
          ' ',
          h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: async (ev) => {
            if (!window.confirm(`Delete the webhook to ${w.url}?`)) return;
            const ok = await busy(ev.target, async () => { await del(`/api/v1/webhooks/${encodeURIComponent(w.id)}`); return true; });
            if (ok) { toast('Webhook deleted.', 'ok'); load(); }
          } }, 'Delete'),
        ] },
      ], hooks) : empty('No webhooks.', 'Add one to push alerts to chat, ticketing or your own systems.'));
    } catch (err) {
      mount(body, failure(err, load));
    }
  }
  await load();
}
