// The live connection: one EventSource per signed-in page, opened with a single-use ticket
// (EventSource cannot send an Authorization header). Reconnects with a fresh ticket and
// backoff; listeners receive {type, data}. The status dot shows connecting/live/offline.

import { eventTicket, isSignedIn } from './api.js';

const EVENT_TYPES = ['alert.created', 'alert.updated', 'account.frozen', 'account.unfrozen',
  'budget.threshold_crossed', 'backup.completed', 'stats.tick', 'transaction.scored'];

let source = null;
let state = 'offline';
let retryDelay = 1000;
let retryTimer = null;
let stopped = true;
const listeners = new Set();
const stateListeners = new Set();

export function liveState() { return state; }
export function onLiveState(fn) { stateListeners.add(fn); fn(state); return () => stateListeners.delete(fn); }
export function onLiveEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }

function setState(s) {
  state = s;
  stateListeners.forEach((fn) => fn(s));
}

export async function startLive() {
  stopped = false;
  if (source) return;
  clearTimeout(retryTimer);
  setState('connecting');
  let ticket;
  try {
    ticket = await eventTicket();
  } catch {
    scheduleRetry();
    return;
  }
  if (stopped || !isSignedIn()) { setState('offline'); return; }
  source = new EventSource(`/api/v1/events?ticket=${encodeURIComponent(ticket)}`);
  source.onopen = () => { retryDelay = 1000; setState('live'); };
  source.onerror = () => {
    // A ticket is single use: on any failure close and reconnect with a new one.
    if (source) source.close();
    source = null;
    scheduleRetry();
  };
  const dispatch = (type) => (ev) => {
    let data = null;
    try { data = JSON.parse(ev.data); } catch { data = ev.data; }
    listeners.forEach((fn) => fn({ type, data }));
  };
  source.onmessage = dispatch('message');
  EVENT_TYPES.forEach((t) => source.addEventListener(t, dispatch(t)));
}

function scheduleRetry() {
  setState('offline');
  if (stopped || !isSignedIn()) return;
  retryTimer = setTimeout(() => { startLive(); }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30000);
}

export function stopLive() {
  stopped = true;
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
  setState('offline');
}
