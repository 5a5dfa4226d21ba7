// Admin: API keys. The secret is shown once, right after creation, and never again.

import { get, post, del } from '../api.js';
import { h, mount, when, failure, busy, toast, field, pageHeader, items, empty, table } from '../dom.js';

const SCOPES = ['ingest', 'read', 'admin'];

export async function render({ main }) {
  const body = h('div');
  const secretSlot = h('div', { 'aria-live': 'polite' });
  const formError = h('div', { 'aria-live': 'assertive' });
  const create = h('button', { type: 'submit', class: 'btn btn-primary', id: 'create-key' }, 'Create key');
  const form = h('form', { class: 'card row', novalidate: true },
    field('Name', h('input', { name: 'name', id: 'key-name', required: true, maxlength: '100' }), 'Say which system uses it, e.g. "card processor".'),
    h('fieldset', { class: 'scopes' }, h('legend', {}, 'Scopes'),
      SCOPES.map((s) => h('label', {}, h('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'ingest' }), ` ${s}`))),
    create);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(formError);
    const fd = new FormData(form);
    const payload = { name: String(fd.get('name') || '').trim(), scopes: fd.getAll('scopes') };
    if (!payload.name) { mount(formError, failure({ message: 'Give the key a name.' })); return; }
    if (!payload.scopes.length) { mount(formError, failure({ message: 'Pick at least one scope.' })); return; }
    const created = await busy(create, async () => {
      try { return await post('/api/v1/api-keys', payload); } catch (err) { mount(formError, failure(err)); return null; }
    });
    if (!created) return;
    const secret = created.secret || created.key || created.api_key?.secret;
    const code = h('code', { id: 'new-key-secret', class: 'secret' }, secret || '(the server did not return a secret)');
    const copy = h('button', { type: 'button', class: 'btn' }, 'Copy');
    copy.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(secret); toast('Copied.', 'ok'); } catch { toast('Copy failed: select the key and copy it by hand.', 'error'); }
    });
    mount(secretSlot, h('section', { class: 'card notice', role: 'status' },
      h('h2', {}, `Key “${payload.name}” created`),
      h('p', {}, 'Copy this secret now: it is shown only once and cannot be recovered. Store it in the sending system\'s secret store.'),
      h('div', { class: 'row' }, code, copy),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => mount(secretSlot) }, 'I have stored it')));
    form.reset();
    load();
  });
  mount(main, pageHeader('API keys'), secretSlot, formError, form, body);
  main.querySelector('h1').id = 'page-title';

  async function load() {
    try {
      const keys = items(await get('/api/v1/api-keys?limit=500'));
      mount(body, keys.length ? table('API keys', [
        { label: 'Name', cell: (k) => k.name },
        { label: 'Prefix', cell: (k) => h('code', {}, k.prefix || k.key_prefix || '—') },
        { label: 'Scopes', cell: (k) => (k.scopes || []).join(', ') },
        { label: 'Created', cell: (k) => when(k.created_at) },
        { label: 'Last used', cell: (k) => (k.last_used_at ? when(k.last_used_at) : 'never') },
        { label: 'Status', cell: (k) => (k.revoked_at ? `revoked ${when(k.revoked_at)}` : 'active') },
        { label: 'Actions', cell: (k) => (k.revoked_at ? '' : h('button', {
          type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke key ${k.name}`,
          onclick: async (ev) => {
            if (!window.confirm(`Revoke “${k.name}”? Systems using it are refused at once.`)) return;
            const ok = await busy(ev.target, async () => { await del(`/api/v1/api-keys/${encodeURIComponent(k.id)}`); return true; });
            if (ok) { toast('Key revoked.', 'ok'); load(); }
          },
        }, 'Revoke')) },
      ], keys) : empty('No API keys yet.', 'Create one above for each system that sends transactions.'));
    } catch (err) {
      mount(body, failure(err, load));
    }
  }
  await load();
}
