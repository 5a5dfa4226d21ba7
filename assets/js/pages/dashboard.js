// Dashboard: KPIs, severity distribution, transaction and alert time series, live updates
// over SSE (debounced reloads) and a manual refresh.

import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { get, query } from '../api.js';
import { h, mount, num, percent, money, time, failure, pageHeader, empty } from '../dom.js';
import { onLiveEvent, liveState } from '../live.js';

/** Without a live connection the dashboard still refreshes this often. */
const POLL_MS = 30000;

const RANGES = {
  hour: { label: 'Last hour', interval: 'minute', ms: 3600e3 },
  day: { label: 'Last 24 hours', interval: 'hour', ms: 86400e3 },
  month: { label: 'Last 30 days', interval: 'day', ms: 30 * 86400e3 },
};
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

/** Points of a time series answer, whatever it calls its fields: [[unix seconds], [values]]. */
export function seriesPoints(data) {
  const rows = Array.isArray(data) ? data : (data && (data.points || data.items || data.series || data.buckets)) || [];
  const xs = []; const ys = [];
  for (const r of rows) {
    const t = Array.isArray(r) ? r[0] : (r.t ?? r.ts ?? r.time ?? r.bucket ?? r.at ?? r.start ?? r.timestamp);
    const v = Array.isArray(r) ? r[1] : (r.value ?? r.count ?? r.v ?? r.total ?? 0);
    const secs = typeof t === 'number' ? (t > 1e12 ? t / 1000 : t) : Date.parse(t) / 1000;
    if (Number.isFinite(secs)) { xs.push(secs); ys.push(Number(v) || 0); }
  }
  return [xs, ys];
}

function blockedAmount(v) {
  if (v === undefined || v === null) return '—';
  if (Array.isArray(v)) return v.length ? v.map((x) => money(x.amount, x.currency)).join(' · ') : 'none';
  if (typeof v === 'object') {
    if ('amount' in v) return money(v.amount, v.currency);
    const entries = Object.entries(v);
    return entries.length ? entries.map(([cur, amt]) => money(amt, cur)).join(' · ') : '0';
  }
  return num(v);
}

function kpi(label, value, sub, id) {
  return h('div', { class: 'kpi', id },
    h('p', { class: 'kpi-label' }, label),
    h('p', { class: 'kpi-value' }, value),
    sub ? h('p', { class: 'kpi-sub' }, sub) : null);
}

function severityChart(bySeverity) {
  const counts = SEVERITIES.map((s) => Number((bySeverity || {})[s]) || 0);
  const max = Math.max(1, ...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  const summary = SEVERITIES.map((s, i) => `${s} ${counts[i]}`).join(', ');
  return h('figure', { class: 'sev-chart' },
    h('figcaption', {}, 'Open alerts by severity'),
    total === 0 ? empty('No open alerts.', 'Alerts appear here when a transaction is scored review or block.') : null,
    h('div', { class: 'bars', role: 'img', 'aria-label': `Open alerts by severity: ${summary}` },
      SEVERITIES.map((s, i) => {
        const bar = h('span', { class: `bar-fill sev-${s}` });
        // CSSOM (not an inline style attribute), which the CSP allows.
        bar.style.width = `${(counts[i] / max) * 100}%`;
        return h('div', { class: 'bar-row' },
          h('span', { class: 'bar-label' }, s),
          h('span', { class: 'bar-track' }, bar),
          h('span', { class: 'bar-value' }, num(counts[i])));
      })));
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function lineChart(el, title, data, color) {
  el.replaceChildren();
  const [xs] = data;
  if (!xs.length) {
    el.append(empty(`No ${title.toLowerCase()} in this period.`, 'Post transactions through the API (POST /api/v1/transactions) and they show up here.'));
    return null;
  }
  const width = Math.max(280, el.clientWidth || 480);
  const axis = { stroke: cssVar('--muted', '#666'), grid: { stroke: cssVar('--border', '#ddd'), width: 1 }, ticks: { stroke: cssVar('--border', '#ddd') } };
  return new uPlot({
    title, width, height: 200,
    series: [{}, { label: title, stroke: cssVar(color, '#1f6feb'), width: 2, fill: `${cssVar(color, '#1f6feb')}22` }],
    axes: [axis, { ...axis, size: 50 }],
    legend: { show: true },
  }, data, el);
}

export async function render({ main }) {
  let range = 'day';
  let charts = [];
  const lastUpdate = h('span', { id: 'last-update' }, 'never');
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'refresh' }, 'Refresh');
  const rangeSel = h('select', { id: 'range', 'aria-label': 'Time range' },
    Object.entries(RANGES).map(([k, r]) => h('option', { value: k, selected: k === range ? true : null }, r.label)));
  const kpis = h('section', { class: 'kpis', 'aria-label': 'Key figures' });
  const sev = h('section', { class: 'card' });
  const txChart = h('div', { class: 'chart', id: 'chart-transactions' });
  const alChart = h('div', { class: 'chart', id: 'chart-alerts' });
  const status = h('div', { 'aria-live': 'polite' });
  mount(main,
    pageHeader('Dashboard', h('span', { class: 'muted' }, 'Updated ', lastUpdate), rangeSel, refreshBtn),
    status, kpis,
    h('div', { class: 'grid-2' }, sev,
      h('section', { class: 'card', 'aria-label': 'Time series' },
        h('h2', {}, 'Activity'), txChart, alChart)));
  main.querySelector('h1').id = 'page-title';

  let lastTotal = null;
  function stamp() {
    lastUpdate.textContent = time();
    lastUpdate.dataset.at = String(Date.now());
  }

  async function loadOverview() {
    drawOverview(await get('/api/v1/stats/overview'));
  }

  function drawOverview(o) {
    lastTotal = o.transactions?.total ?? null;
    const d = o.decisions_24h || {};
    mount(kpis,
      kpi('Transactions (24 h)', num(o.transactions?.last_24h), `${num(o.transactions?.total)} in total`, 'kpi-transactions'),
      kpi('Decisions (24 h)', `${num(d.allow)} / ${num(d.review)} / ${num(d.block)}`, 'allow / review / block', 'kpi-decisions'),
      kpi('Open alerts', num(o.alerts?.open), null, 'kpi-alerts'),
      kpi('Accounts', num(o.accounts?.active), `${num(o.accounts?.frozen)} frozen`, 'kpi-accounts'),
      kpi('Blocked (24 h)', blockedAmount(o.blocked_amount_24h), null, 'kpi-blocked'),
      kpi('Fraud rate (30 d)', percent(o.fraud_rate_30d, 2), `${num(o.budgets_over_threshold)} budgets over threshold`, 'kpi-fraud'));
    mount(sev, h('h2', {}, 'Severity'), severityChart(o.alerts?.by_severity));
  }

  async function loadSeries() {
    const r = RANGES[range];
    const to = new Date();
    const from = new Date(to.getTime() - r.ms);
    const q = (metric) => query({ metric, interval: r.interval, from: from.toISOString(), to: to.toISOString() });
    const [tx, al] = await Promise.all([
      get(`/api/v1/stats/timeseries${q('transactions')}`),
      get(`/api/v1/stats/timeseries${q('alerts')}`),
    ]);
    charts.forEach((c) => c && c.destroy());
    charts = [lineChart(txChart, 'Transactions', seriesPoints(tx), '--accent'), lineChart(alChart, 'Alerts', seriesPoints(al), '--danger')];
  }

  let loading = null;
  async function load() {
    if (loading) return loading;
    loading = (async () => {
      try {
        await Promise.all([loadOverview(), loadSeries()]);
        mount(status);
        stamp();
      } catch (err) {
        mount(status, failure(err, load));
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  refreshBtn.addEventListener('click', load);
  rangeSel.addEventListener('change', () => { range = rangeSel.value; load(); });
  let pending = null;
  const off = onLiveEvent((ev) => {
    // The periodic tick carries the overview itself: draw it, and fetch the series only
    // when the transaction count moved.
    const tick = ev.type === 'stats.tick' && ev.data && ev.data.data && ev.data.data.transactions;
    if (tick) {
      const before = lastTotal;
      drawOverview(ev.data.data);
      stamp();
      if (before !== null && before !== lastTotal) loadSeries().catch(() => {});
      return;
    }
    // Bursts of other events collapse into one reload.
    clearTimeout(pending);
    pending = setTimeout(load, 400);
  });
  const poll = setInterval(() => { if (liveState() !== 'live') load(); }, POLL_MS);
  await load();
  return () => { off(); clearTimeout(pending); clearInterval(poll); charts.forEach((c) => c && c.destroy()); };
}
