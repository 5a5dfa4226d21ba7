// Admin: backups (list with integrity and checksum, take one now, download).

import { get, post } from '../api.js';
import { h, mount, badge, when, failure, busy, toast, pageHeader, items, empty, table } from '../dom.js';

function size(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n; let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(v)} ${units[i]}`;
}

export async function render({ main }) {
  const body = h('div');
  const now = h('button', { type: 'button', class: 'btn btn-primary', id: 'backup-now' }, 'Back up now');
  now.addEventListener('click', async () => {
    const ok = await busy(now, async () => { await post('/api/v1/backups'); return true; });
    if (ok) { toast('Backup taken.', 'ok'); load(); }
  });
  mount(main, pageHeader('Backups', now),
    h('p', { class: 'muted' }, 'Backups are plain SQLite files checked with PRAGMA integrity_check. Restore with ledgerguard restore FILE while the service is stopped.'),
    body);
  main.querySelector('h1').id = 'page-title';
  async function load() {
    try {
      const list = items(await get('/api/v1/backups'));
      mount(body, list.length ? table('Backups, newest first', [
        { label: 'Name', cell: (b) => b.name },
        { label: 'Created', cell: (b) => when(b.created_at) },
        { label: 'Size', class: 'num', cell: (b) => size(b.size) },
        { label: 'Integrity', cell: (b) => badge(b.integrity) },
        { label: 'SHA-256', cell: (b) => h('code', { class: 'small', title: b.sha256 }, String(b.sha256 || '').slice(0, 16)) },
        { label: 'Download', cell: (b) => h('button', { type: 'button', class: 'btn btn-small', onclick: (ev) => download(ev.target, b.name) }, 'Download') },
      ], list) : empty('No backups yet.', 'Take one now; scheduled backups run at the configured time (02:00 by default).'));
    } catch (err) {
      mount(body, failure(err, load));
    }
  }
  // The download needs the Authorization header, so it goes through fetch and a blob URL
  // rather than a plain link (which would need a token in the URL).
  async function download(button, name) {
    await busy(button, async () => {
      const { downloadBlob } = await import('../download.js');
      await downloadBlob(`/api/v1/backups/${encodeURIComponent(name)}`, name);
    });
  }
  await load();
}
