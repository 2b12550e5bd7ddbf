// The supervisor board: plain JavaScript, no framework, no build step, served from the binary.
//
// Data flow: GET /v1/roster fills a Map of agents; GET /v1/stream (EventSource, opened with a
// single-use ticket from POST /v1/stream/tickets) brings each change with the agent's new roster
// entry. An entry replaces the held one only if its lastEventId is >= the held one's, so the
// roster and the stream merge safely in any order. DOM work is batched in requestAnimationFrame:
// only changed rows are touched, the order is recomputed at most once per frame and only when
// something that decides it changed, and the ticking cells are updated in one pass per second.
//
// Credentials (userId + API token) live in sessionStorage only: never in a URL, never in
// local storage. Nothing is fetched from any host but the one that served the page.
'use strict';

(() => {
  const SESSION_KEY = 'agentprofile.board.session';
  const LARGE_KEY = 'agentprofile.board.large';
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const ROSTER_DEBOUNCE_MS = 250;

  const STATE_LABEL = {
    available: 'Available',
    on_call: 'On a call',
    on_break: 'On break',
    wrap_up: 'Wrap-up',
    offline: 'Offline',
    disabled: 'Disabled',
  };
  // The order of "sort by state": what needs a supervisor first.
  const STATE_RANK = { on_break: 0, wrap_up: 1, on_call: 2, available: 3, offline: 4, disabled: 5 };
  const DIRECTION_LABEL = { inbound: 'Inbound call', outbound: 'Outbound call' };
  const PRESENCE_LABEL = { online: 'Online', stale: 'Stale', offline: 'Offline', unknown: 'Unknown' };
  const MIC_LABEL = { granted: 'Granted', denied: 'Denied', prompt: 'Prompt', unknown: 'Unknown' };
  const ACTIONS = {
    'end-break': { path: 'break', label: 'End break' },
    'end-wrap': { path: 'wrap-up', label: 'End wrap-up' },
    logout: { path: 'sessions', label: 'Log out' },
  };

  const $ = (id) => document.getElementById(id);
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

  const el = {
    signin: $('signin'),
    signinForm: $('signin-form'),
    signinUser: $('signin-user'),
    signinToken: $('signin-token'),
    signinError: $('signin-error'),
    signinSubmit: $('signin-submit'),
    board: $('board'),
    account: $('account-name'),
    conn: $('conn'),
    connText: $('conn-text'),
    large: $('large-type'),
    signout: $('signout'),
    counts: $('counts'),
    search: $('search'),
    filterState: $('filter-state'),
    filterOver: $('filter-over'),
    filterAway: $('filter-away'),
    sortKey: $('sort-key'),
    sortDir: $('sort-dir'),
    shown: $('shown'),
    actionError: $('action-error'),
    actionErrorText: $('action-error-text'),
    actionErrorClose: $('action-error-close'),
    table: $('roster'),
    rows: $('rows'),
    empty: $('empty'),
    loading: $('loading'),
  };
  const countEls = {};
  for (const n of el.counts.querySelectorAll('[data-count]')) countEls[n.dataset.count] = n;

  // ------------------------------------------------------------------ state

  let session = null; // { userId, token }
  const agents = new Map(); // agentId -> row record
  let skew = 0; // the server's clock minus ours, in seconds
  const view = { search: '', state: '', over: false, away: false, sort: 'agent', dir: 1 };

  // Batched DOM work.
  const dirty = new Set();
  let frameQueued = false;
  let viewChanged = false;
  let needsOrder = false;
  let needsCounts = false;
  let tickDue = false;
  let tickTimer = null;

  const serverNow = () => Date.now() / 1000 + skew;

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** One call: the envelope's data, or an ApiError with the envelope's message. */
  async function request(method, path, token, body) {
    const headers = { Authorization: `Bearer ${token}` };
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new ApiError('The server cannot be reached.', 0, 'network');
    }
    let json = null;
    try {
      json = await res.json();
    } catch (err) {
      json = null;
    }
    if (!res.ok || !json || json.status !== 'success') {
      const message = json && typeof json.message === 'string' ? json.message : `HTTP ${res.status}`;
      throw new ApiError(message, res.status, json && json.code);
    }
    return { data: json.data, res };
  }

  async function api(method, path, body) {
    if (!session) throw new ApiError('Signed out.', 0, 0);
    const token = session.token;
    try {
      return (await request(method, path, token, body)).data;
    } catch (err) {
      // A token that stopped working (revoked, account suspended) signs the board out.
      if ((err.status === 401 || err.status === 403) && session && session.token === token) {
        signOut(`Signed out: ${err.message}`);
      }
      throw err;
    }
  }

  // ------------------------------------------------------------------ sign in and out

  function readSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (s && typeof s.userId === 'string' && typeof s.token === 'string') return s;
    } catch (err) {
      // A damaged value is no session.
    }
    return null;
  }

  async function verify(userId, token) {
    const { data } = await request('GET', '/v1/account', token);
    if (!data || String(data.userId) !== userId) {
      throw new ApiError(`This token belongs to another account, not "${userId}".`, 0, 0);
    }
    return data;
  }

  function showSignin(message, userId) {
    el.board.hidden = true;
    el.signin.hidden = false;
    if (userId !== undefined) el.signinUser.value = userId;
    el.signinError.textContent = message || '';
    el.signinError.hidden = !message;
    (el.signinUser.value ? el.signinToken : el.signinUser).focus();
  }

  el.signinForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const userId = el.signinUser.value.trim();
    const token = el.signinToken.value.trim();
    if (!userId || !token) {
      showSignin('Enter the userId and an API token of the account.');
      return;
    }
    el.signinSubmit.disabled = true;
    el.signinError.hidden = true;
    try {
      const account = await verify(userId, token);
      session = { userId, token };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      el.signinToken.value = '';
      start(account);
    } catch (err) {
      const why = err.status === 401 ? `The token was not accepted (${err.message}).` : err.message;
      showSignin(why);
    } finally {
      el.signinSubmit.disabled = false;
    }
  });

  el.signout.addEventListener('click', () => signOut(''));

  function start(account) {
    el.signin.hidden = true;
    el.board.hidden = false;
    el.account.textContent = account.name ? `${account.name} · ${account.userId}` : account.userId;
    el.loading.hidden = false;
    el.loading.textContent = 'Loading the roster…';
    loadRoster();
    startStream();
    scheduleTick();
  }

  function signOut(message) {
    const userId = session ? session.userId : el.signinUser.value;
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
    stopStream();
    clearTimeout(tickTimer);
    clearTimeout(roster.timer);
    roster.timer = null;
    agents.clear();
    dirty.clear();
    el.rows.textContent = '';
    hideActionError();
    needsCounts = true;
    queueFrame();
    showSignin(message, userId);
  }

  // ------------------------------------------------------------------ the roster

  const roster = { timer: null, inFlight: false, again: false, retry: 0 };

  /** A roster fetch soon; calls within the delay share it. */
  function refetchRoster(delay = ROSTER_DEBOUNCE_MS) {
    if (!session || roster.timer) return;
    roster.timer = setTimeout(loadRoster, delay);
  }

  async function loadRoster() {
    roster.timer = null;
    if (!session) return;
    if (roster.inFlight) {
      roster.again = true;
      return;
    }
    roster.inFlight = true;
    const token = session.token;
    const sent = Date.now();
    try {
      const { data, res } = await request('GET', '/v1/roster', token);
      if (!session || session.token !== token) return;
      learnSkew(res, sent, Date.now());
      for (const entry of data) apply(entry, null);
      roster.retry = 0;
      el.loading.hidden = true;
    } catch (err) {
      if (!session || session.token !== token) return;
      if (err.status === 401 || err.status === 403) {
        signOut(`Signed out: ${err.message}`);
        return;
      }
      roster.retry = Math.min(roster.retry * 2 || 1000, BACKOFF_MAX_MS);
      if (agents.size === 0) {
        el.loading.hidden = false;
        el.loading.textContent = `Could not load the roster (${err.message}); trying again…`;
      }
      refetchRoster(roster.retry);
    } finally {
      roster.inFlight = false;
      if (roster.again) {
        roster.again = false;
        refetchRoster(0);
      }
    }
  }

  /** The server's clock from its Date header; adopted only when it is off by more than a second. */
  function learnSkew(res, sent, received) {
    const date = Date.parse(res.headers.get('date') || '');
    if (Number.isNaN(date)) return;
    // The header has whole seconds: the server's time was within [date, date + 1 s).
    const estimate = (date + 500 - (sent + received) / 2) / 1000;
    if (Math.abs(estimate - skew) > 1) skew = Math.round(estimate);
  }

  /** Takes this roster entry for its agent unless the held one is newer. `at`: a live event's time. */
  function apply(entry, at) {
    if (!entry || typeof entry.agentId !== 'string') return;
    const id = entry.agentId;
    let rec = agents.get(id);
    if (!rec) {
      rec = newRecord(id);
      agents.set(id, rec);
    } else if ((entry.lastEventId || 0) < (rec.entry.lastEventId || 0)) {
      return;
    }
    if (rec.entry && rec.entry.state !== entry.state) rec.seenSince = at;
    rec.entry = entry;
    dirty.add(id);
    needsCounts = true;
    queueFrame();
  }

  // ------------------------------------------------------------------ the stream

  const stream = { es: null, timer: null, backoff: BACKOFF_FIRST_MS, lastId: 0, gen: 0, openedAt: 0 };

  function startStream() {
    stopStream();
    stream.backoff = BACKOFF_FIRST_MS;
    stream.lastId = 0;
    connectStream();
  }

  function stopStream() {
    stream.gen += 1;
    clearTimeout(stream.timer);
    if (stream.es) stream.es.close();
    stream.es = null;
  }

  async function connectStream() {
    const gen = ++stream.gen;
    if (!session) return;
    let ticket;
    try {
      ticket = (await api('POST', '/v1/stream/tickets', {})).ticket;
    } catch (err) {
      if (gen === stream.gen && session) retryStream(gen);
      return;
    }
    if (gen !== stream.gen || !session) return;
    let url = `/v1/stream?ticket=${encodeURIComponent(ticket)}`;
    if (stream.lastId > 0) url += `&lastEventId=${stream.lastId}`;
    const es = new EventSource(url);
    stream.es = es;
    es.onopen = () => {
      if (gen !== stream.gen) return;
      stream.openedAt = Date.now();
      setConn('live');
      // Whatever happened while no stream was open: the roster has it (merged by lastEventId).
      refetchRoster(0);
    };
    es.onmessage = (m) => {
      if (gen === stream.gen) onEvent(m);
    };
    es.onerror = () => {
      // The server ended the stream or refused the ticket: never let EventSource retry with a
      // used ticket; a new ticket, and resume after the last event seen.
      if (gen !== stream.gen) return;
      es.close();
      stream.es = null;
      retryStream(gen);
    };
  }

  function retryStream(gen) {
    // A stream that stayed open a while was healthy: start the backoff over.
    if (stream.openedAt && Date.now() - stream.openedAt > BACKOFF_MAX_MS) {
      stream.backoff = BACKOFF_FIRST_MS;
    }
    stream.openedAt = 0;
    const wait = stream.backoff;
    stream.backoff = Math.min(stream.backoff * 2, BACKOFF_MAX_MS);
    setConn('reconnecting', wait);
    clearTimeout(stream.timer);
    stream.timer = setTimeout(() => {
      if (gen === stream.gen && session) connectStream();
    }, wait);
  }

  function onEvent(m) {
    let event;
    try {
      event = JSON.parse(m.data);
    } catch (err) {
      return;
    }
    const id = Number(m.lastEventId || (event && event.id));
    if (Number.isFinite(id) && id > stream.lastId) stream.lastId = id;
    if (event && event.agent && typeof event.agent === 'object') {
      apply(event.agent, typeof event.at === 'number' ? event.at : null);
    } else {
      // A replayed event without a snapshot: the roster tells the state it led to.
      refetchRoster();
    }
  }

  function setConn(state, waitMs) {
    el.conn.dataset.state = state;
    el.connText.textContent =
      state === 'live'
        ? 'Live'
        : state === 'reconnecting'
          ? `Reconnecting${waitMs >= 1000 ? ` in ${Math.round(waitMs / 1000)} s` : ''}…`
          : 'Connecting…';
  }

  window.addEventListener('online', () => {
    if (session && !stream.es) connectStream();
  });

  // ------------------------------------------------------------------ rows

  function newRecord(id) {
    const tr = document.createElement('tr');
    tr.dataset.agentId = id;
    // Rows are grids on screen; the roles keep them a table's rows and cells.
    tr.setAttribute('role', 'row');
    const cell = (cls, label) => {
      const td = document.createElement('td');
      td.className = cls;
      td.dataset.label = label;
      td.setAttribute('role', 'cell');
      tr.appendChild(td);
      return td;
    };
    const span = (parent, cls) => {
      const s = document.createElement('span');
      s.className = cls;
      parent.appendChild(s);
      return s;
    };
    const agentTd = cell('c-agent', 'Agent');
    const stateTd = cell('c-state', 'State');
    const timeTd = cell('c-time', 'Time in state');
    const limitTd = cell('c-limit', 'Limit / wrap-up');
    const presenceTd = cell('c-presence', 'Presence');
    const micTd = cell('c-mic', 'Microphone');
    const actionsTd = cell('c-actions', 'Actions');
    const button = (action) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `act act-${action}`;
      b.dataset.action = action;
      b.textContent = ACTIONS[action].label;
      b.hidden = true;
      actionsTd.appendChild(b);
      return b;
    };
    return {
      id,
      tr,
      entry: null,
      seenSince: null, // when a live event showed the state change (states without a `since`)
      visible: false,
      busy: false,
      since: null,
      over: false,
      rank: 0,
      presence: 'unknown',
      haystack: '',
      expiryAsked: null,
      c: {
        id: span(agentTd, 'aid'),
        name: span(agentTd, 'sub aname'),
        state: span(stateTd, 'badge state'),
        reason: span(stateTd, 'sub reason'),
        elapsed: span(timeTd, 'elapsed'),
        since: span(timeTd, 'sub since'),
        limit: span(limitTd, 'limit'),
        limitSub: span(limitTd, 'sub limit-sub'),
        presence: span(presenceTd, 'badge presence'),
        ping: span(presenceTd, 'sub ping'),
        mic: span(micTd, 'badge mic'),
        endBreak: button('end-break'),
        endWrap: button('end-wrap'),
        logout: button('logout'),
      },
    };
  }

  function setText(node, text) {
    if (node._t !== text) {
      node._t = text;
      node.textContent = text;
    }
  }

  function setAttr(node, name, value) {
    const key = `_a_${name}`;
    if (node[key] !== value) {
      node[key] = value;
      node.setAttribute(name, value);
    }
  }

  function setHidden(node, hidden) {
    if (node.hidden !== hidden) node.hidden = hidden;
  }

  /** Derived values of an entry: what filters, sorts and ticks read. */
  function derive(rec) {
    const e = rec.entry;
    const b = e.break;
    const w = e.wrapUp;
    const k = e.call;
    rec.since =
      e.stateSince ??
      (e.state === 'on_call' && k ? k.since : e.state === 'on_break' && b ? b.since : e.state === 'wrap_up' && w ? w.since : rec.seenSince);
    rec.presence = e.presence || (e.loggedIn ? 'unknown' : 'offline');
    rec.over = isOver(rec, serverNow());
    rec.rank = (STATE_RANK[e.state] ?? 6) * 2 + (rec.over ? 0 : 1);
    rec.haystack = [e.agentId, e.name, b && b.reason, b && b.reasonCode, w && w.callId, k && k.callId, k && k.cNumber, STATE_LABEL[e.state]]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
  }

  function isOver(rec, now) {
    const e = rec.entry;
    const b = e.break;
    if (e.state !== 'on_break' || !b) return false;
    return Boolean(b.overLimit) || (b.limit != null && Math.floor(now) - b.since > b.limit);
  }

  /** Everything of a row but the ticking cells. */
  function render(rec, now) {
    const e = rec.entry;
    const c = rec.c;
    const b = e.break;
    const w = e.wrapUp;
    const k = e.call;
    const tr = rec.tr;
    setAttr(tr, 'data-state', e.state);
    setAttr(tr, 'data-presence', rec.presence);
    setAttr(tr, 'class', `st-${e.state}${rec.over ? ' over' : ''}`);
    setText(c.id, e.agentId);
    setText(c.name, e.name || '');
    setText(c.state, STATE_LABEL[e.state] || e.state);
    setAttr(c.state, 'class', `badge state st-${e.state}`);
    setText(
      c.reason,
      e.state === 'on_call' && k
        ? k.cNumber || `Call ${k.callId}`
        : e.state === 'on_break' && b
          ? b.reason
          : e.state === 'wrap_up' && w
            ? `Call ${w.callId}`
            : '',
    );
    setText(c.presence, PRESENCE_LABEL[rec.presence] || rec.presence);
    setAttr(c.presence, 'class', `badge presence pr-${rec.presence}`);
    const mic = e.micPerm || 'unknown';
    setText(c.mic, MIC_LABEL[mic] || mic);
    setAttr(c.mic, 'class', `badge mic mic-${mic}`);
    const who = e.name ? `${e.name} (${e.agentId})` : e.agentId;
    setHidden(c.endBreak, e.state !== 'on_break');
    setHidden(c.endWrap, !(e.state === 'wrap_up' && w));
    setHidden(c.logout, !e.loggedIn);
    for (const [btn, action] of [
      [c.endBreak, 'end-break'],
      [c.endWrap, 'end-wrap'],
      [c.logout, 'logout'],
    ]) {
      setAttr(btn, 'aria-label', `${ACTIONS[action].label}: ${who}`);
      btn.disabled = rec.busy;
    }
    tick(rec, now);
  }

  /** The cells that change with the clock: time in state, limit, countdown, last ping. */
  function tick(rec, now) {
    const e = rec.entry;
    const c = rec.c;
    const b = e.break;
    const w = e.wrapUp;
    const k = e.call;
    const t = Math.floor(now);
    setText(c.elapsed, rec.since != null ? duration(t - rec.since) : '—');
    setText(c.since, rec.since != null ? `since ${timeOfDay.format(rec.since * 1000)}` : '');
    if (e.state === 'on_call' && k) {
      setText(c.limit, `On call ${duration(t - k.since)}`);
      setText(c.limitSub, `${DIRECTION_LABEL[k.direction] || 'Call'} ${k.callId}`);
    } else if (e.state === 'on_break' && b) {
      if (b.limit == null) {
        setText(c.limit, 'No limit');
        setText(c.limitSub, '');
      } else if (rec.over) {
        setText(c.limit, '⚠ Over limit');
        setText(c.limitSub, `by ${duration(t - b.since - b.limit)} · limit ${duration(b.limit)}`);
      } else {
        setText(c.limit, `Limit ${duration(b.limit)}`);
        setText(c.limitSub, `${duration(b.limit - (t - b.since))} left`);
      }
    } else if (e.state === 'wrap_up' && w) {
      if (w.wrapETime == null) {
        setText(c.limit, 'Untimed');
      } else {
        const left = w.wrapETime - t;
        setText(c.limit, left > 0 ? `Ends in ${duration(left)}` : 'Ending…');
        if (left <= 0 && rec.expiryAsked !== w.wrapETime) {
          // No event marks a wrap-up that ran out: the roster, read after its end, does.
          rec.expiryAsked = w.wrapETime;
          refetchRoster(1500);
        }
      }
      setText(c.limitSub, w.mode === 'forced' ? 'Forced (supervisor may end)' : '');
    } else {
      setText(c.limit, '');
      setText(c.limitSub, '');
    }
    setText(c.ping, e.lastPingAt != null ? `ping ${ago(t - e.lastPingAt)}` : e.loggedIn ? 'no ping yet' : '');
  }

  function duration(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  }

  function ago(s) {
    s = Math.max(0, s);
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  function matches(rec) {
    if (view.state && rec.entry.state !== view.state) return false;
    if (view.over && !rec.over) return false;
    if (view.away && rec.presence !== 'stale' && rec.presence !== 'offline') return false;
    if (view.search && !rec.haystack.includes(view.search)) return false;
    return true;
  }

  function compare(a, b) {
    let r = 0;
    if (view.sort === 'state') {
      r = a.rank - b.rank;
    } else if (view.sort === 'time') {
      // Unknown times last, whichever the direction.
      if (a.since == null || b.since == null) {
        if (a.since != null) return -1;
        if (b.since != null) return 1;
      } else {
        r = b.since - a.since; // ascending time in state: the latest start first
      }
    } else {
      r = collator.compare(a.id, b.id);
    }
    if (r === 0) return collator.compare(a.id, b.id);
    return r * view.dir;
  }

  // ------------------------------------------------------------------ the frame

  function queueFrame() {
    if (!frameQueued) {
      frameQueued = true;
      requestAnimationFrame(frame);
    }
  }

  function frame() {
    frameQueued = false;
    const now = serverNow();
    for (const id of dirty) {
      const rec = agents.get(id);
      if (!rec || !rec.entry) continue;
      const before = `${rec.rank}|${rec.since}`;
      derive(rec);
      render(rec, now);
      if (`${rec.rank}|${rec.since}` !== before) needsOrder = true;
      const visible = matches(rec);
      if (visible !== rec.visible) {
        rec.visible = visible;
        needsOrder = true;
      }
    }
    dirty.clear();
    if (viewChanged) {
      viewChanged = false;
      needsOrder = true;
      for (const rec of agents.values()) {
        if (!rec.entry) continue;
        const visible = matches(rec);
        // A row shown again: its clock cells were not kept up while it was hidden.
        if (visible && !rec.visible) tick(rec, now);
        rec.visible = visible;
      }
    }
    if (tickDue) {
      tickDue = false;
      for (const rec of agents.values()) {
        if (!rec.entry) continue;
        const over = isOver(rec, now);
        if (over !== rec.over) {
          // A break just passed its limit: a new class, maybe a new place and filter result.
          derive(rec);
          render(rec, now);
          needsOrder = true;
          needsCounts = true;
          rec.visible = matches(rec);
        } else if (rec.visible) {
          tick(rec, now);
        }
      }
    }
    if (needsOrder) {
      needsOrder = false;
      reorder();
    }
    if (needsCounts) {
      needsCounts = false;
      counts();
    }
  }

  /**
   * Puts the visible rows in order with the fewest moves: the rows already in order among
   * themselves (the longest increasing run of their wanted places) stay; only the others move.
   * A row that changes group is one move, whichever way it goes.
   */
  function reorder() {
    const list = [];
    for (const rec of agents.values()) if (rec.visible) list.push(rec);
    list.sort(compare);
    const body = el.rows;
    const place = new Map();
    for (let i = 0; i < list.length; i += 1) place.set(list[i].tr, i);
    const present = [];
    for (let node = body.firstChild; node; ) {
      const next = node.nextSibling;
      if (place.has(node)) present.push(place.get(node));
      else body.removeChild(node);
      node = next;
    }
    const stay = new Set();
    for (const i of increasingRun(present)) stay.add(list[i].tr);
    let next = null;
    for (let i = list.length - 1; i >= 0; i -= 1) {
      const tr = list[i].tr;
      if (!stay.has(tr)) body.insertBefore(tr, next);
      next = tr;
    }
    el.empty.hidden = list.length > 0 || agents.size === 0;
    setText(el.shown, `Showing ${list.length} of ${agents.size}`);
  }

  /** The values of a longest strictly increasing subsequence of `seq` (O(n log n)). */
  function increasingRun(seq) {
    const tails = []; // tails[k]: index in seq of the smallest tail of a run of length k + 1
    const prev = new Array(seq.length);
    for (let i = 0; i < seq.length; i += 1) {
      let lo = 0;
      let hi = tails.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (seq[tails[mid]] < seq[i]) lo = mid + 1;
        else hi = mid;
      }
      prev[i] = lo > 0 ? tails[lo - 1] : -1;
      tails[lo] = i;
    }
    const run = [];
    for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) run.push(seq[i]);
    return run;
  }

  function counts() {
    const n = { all: 0, available: 0, on_call: 0, on_break: 0, over: 0, wrap_up: 0, offline: 0, disabled: 0 };
    for (const rec of agents.values()) {
      if (!rec.entry) continue;
      n.all += 1;
      n[rec.entry.state] = (n[rec.entry.state] || 0) + 1;
      if (rec.over) n.over += 1;
    }
    for (const [key, node] of Object.entries(countEls)) setText(node, String(n[key] || 0));
    document.title = n.over > 0 ? `(${n.over} over limit) Supervisor board` : 'Supervisor board';
  }

  function scheduleTick() {
    clearTimeout(tickTimer);
    // On the second boundary, so every cell changes together.
    tickTimer = setTimeout(() => {
      tickDue = true;
      queueFrame();
      scheduleTick();
    }, 1000 - (Date.now() % 1000) + 5);
  }

  // ------------------------------------------------------------------ actions

  el.rows.addEventListener('click', async (e) => {
    const btn = e.target.closest('button[data-action]');
    if (!btn || btn.disabled) return;
    const rec = agents.get(btn.closest('tr').dataset.agentId);
    const action = ACTIONS[btn.dataset.action];
    if (!rec || !action) return;
    const who = rec.entry.name ? `${rec.entry.name} (${rec.id})` : rec.id;
    if (btn.dataset.action === 'logout' && !window.confirm(`Log out ${who}? Every session of this agent ends.`)) {
      return;
    }
    rec.busy = true;
    dirty.add(rec.id);
    queueFrame();
    try {
      await api('DELETE', `/v1/agents/${encodeURIComponent(rec.id)}/${action.path}`);
      hideActionError();
    } catch (err) {
      if (session) showActionError(`${action.label} for ${who} failed: ${err.message}`);
    } finally {
      rec.busy = false;
      dirty.add(rec.id);
      queueFrame();
      // The stream brings the change; the roster makes sure of it.
      refetchRoster();
    }
  });

  function showActionError(text) {
    el.actionErrorText.textContent = text;
    el.actionError.hidden = false;
  }

  function hideActionError() {
    el.actionError.hidden = true;
  }

  el.actionErrorClose.addEventListener('click', hideActionError);

  // ------------------------------------------------------------------ filters, sort, type size

  function viewUpdated() {
    viewChanged = true;
    syncControls();
    queueFrame();
  }

  function syncControls() {
    for (const b of el.counts.querySelectorAll('button')) {
      const pressed =
        b.dataset.filterOver === '1' ? view.over && !view.state : !view.over && (b.dataset.filterState || '') === view.state;
      b.setAttribute('aria-pressed', String(pressed));
    }
    el.filterState.value = view.state;
    el.filterOver.checked = view.over;
    el.filterAway.checked = view.away;
    el.sortKey.value = view.sort;
    el.sortDir.dataset.dir = view.dir > 0 ? 'asc' : 'desc';
    el.sortDir.textContent = view.dir > 0 ? '▲ Asc' : '▼ Desc';
    el.sortDir.setAttribute('aria-label', `Sort direction: ${view.dir > 0 ? 'ascending' : 'descending'}`);
    for (const th of el.table.tHead.querySelectorAll('th')) {
      const key = th.querySelector('[data-sort]');
      if (!key) continue;
      th.setAttribute(
        'aria-sort',
        key.dataset.sort === view.sort ? (view.dir > 0 ? 'ascending' : 'descending') : 'none',
      );
    }
  }

  function setSort(key) {
    if (view.sort === key) {
      view.dir = -view.dir;
    } else {
      view.sort = key;
      view.dir = key === 'time' ? -1 : 1; // longest in state first
    }
    viewUpdated();
  }

  el.search.addEventListener('input', () => {
    view.search = el.search.value.trim().toLowerCase();
    viewUpdated();
  });
  el.filterState.addEventListener('change', () => {
    view.state = el.filterState.value;
    viewUpdated();
  });
  el.filterOver.addEventListener('change', () => {
    view.over = el.filterOver.checked;
    viewUpdated();
  });
  el.filterAway.addEventListener('change', () => {
    view.away = el.filterAway.checked;
    viewUpdated();
  });
  el.sortKey.addEventListener('change', () => setSort(el.sortKey.value));
  el.sortDir.addEventListener('click', () => {
    view.dir = -view.dir;
    viewUpdated();
  });
  el.table.tHead.addEventListener('click', (e) => {
    const b = e.target.closest('[data-sort]');
    if (b) setSort(b.dataset.sort);
  });
  el.counts.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.dataset.filterOver === '1') {
      view.state = '';
      view.over = !view.over;
    } else {
      view.state = b.dataset.filterState || '';
      view.over = false;
    }
    viewUpdated();
  });
  document.getElementById('tools').addEventListener('submit', (e) => e.preventDefault());

  function setLarge(on) {
    document.body.classList.toggle('large', on);
    el.large.setAttribute('aria-pressed', String(on));
    sessionStorage.setItem(LARGE_KEY, on ? '1' : '0');
  }
  el.large.addEventListener('click', () => setLarge(!document.body.classList.contains('large')));

  // ------------------------------------------------------------------ boot

  setLarge(sessionStorage.getItem(LARGE_KEY) === '1');
  syncControls();
  const saved = readSession();
  if (saved) {
    verify(saved.userId, saved.token).then(
      (account) => {
        session = saved;
        start(account);
      },
      (err) => {
        // Kept only when the server could not be asked; anything it refused is forgotten.
        if (err.code !== 'network') sessionStorage.removeItem(SESSION_KEY);
        showSignin(`Please sign in again: ${err.message}`, saved.userId);
      },
    );
  } else {
    showSignin('');
  }
})();
