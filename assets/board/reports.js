// The board's Reports view: a day's time in state per agent, from GET /v1/reports/summary, as
// plain SVG stacked bars (breaks by reason, over-limit outlined), totals on top, every number
// also in words, and the same rows as CSV (?format=csv) to download. Plain JavaScript, no
// framework; it reads the board's session (sessionStorage) and calls only this server.
'use strict';

(() => {
  const SESSION_KEY = 'agentprofile.board.session';
  const SVG = 'http://www.w3.org/2000/svg';
  const LABEL = {
    on_call: 'On a call',
    wrap_up: 'Wrap-up',
    on_break: 'On break',
    available: 'Available',
    logged_out: 'Logged out',
  };
  // Bars read left to right: work, breaks, idle, away.
  const ORDER = ['on_call', 'wrap_up', 'on_break', 'available', 'logged_out'];

  const $ = (id) => document.getElementById(id);
  const el = {
    toggle: $('reports-toggle'),
    section: $('reports'),
    form: $('reports-form'),
    day: $('reports-day'),
    csv: $('reports-csv'),
    status: $('reports-status'),
    totals: $('reports-totals'),
    legend: $('reports-legend'),
    agents: $('reports-agents'),
    hide: [$('counts'), $('tools'), document.querySelector('.roster-wrap')],
  };
  let zone = null;

  function token() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      return s && typeof s.token === 'string' ? s.token : null;
    } catch (err) {
      return null;
    }
  }

  async function get(path, accept) {
    const t = token();
    if (!t) throw new Error('Signed out.');
    const res = await fetch(path, {
      headers: { Authorization: `Bearer ${t}`, Accept: accept },
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (accept === 'text/csv' && res.ok) return res.text();
    const json = await res.json().catch(() => null);
    if (!res.ok || !json || json.status !== 'success') {
      throw new Error(json && json.message ? json.message : `HTTP ${res.status}`);
    }
    return json.data;
  }

  function duration(s) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }

  /** Today's date in the account's time zone, YYYY-MM-DD. */
  function today() {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit',
    }).formatToParts(new Date());
    const part = (type) => parts.find((p) => p.type === type).value;
    return `${part('year')}-${part('month')}-${part('day')}`;
  }

  function nextDay(date) {
    const [y, m, d] = date.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  }

  /** The summary's URL for the chosen day (a local date: the server reads it in the account's zone). */
  function summaryUrl(format) {
    const day = el.day.value || today();
    const query = `from=${day}&to=${nextDay(day)}${format ? `&format=${format}` : ''}`;
    return `/v1/reports/summary?${query}`;
  }

  function node(tag, attrs, text) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function svgNode(tag, attrs) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    return n;
  }

  /** The segments of a row: each state, breaks split by reason (in `reasons` order). */
  function segments(row, reasons) {
    const out = [];
    for (const state of ORDER) {
      if (state === 'on_break') {
        for (const reason of reasons) {
          const s = row.breakSeconds[reason] || 0;
          if (s > 0) out.push({ state, reason, seconds: s, alt: reasons.indexOf(reason) % 4 });
        }
      } else if (row.seconds[state] > 0) {
        out.push({ state, seconds: row.seconds[state] });
      }
    }
    return out;
  }

  function segClass(seg) {
    return seg.reason === undefined ? `seg-${seg.state}` : `seg-on_break alt${seg.alt}`;
  }

  function segLabel(seg) {
    return seg.reason === undefined ? LABEL[seg.state] : `Break: ${seg.reason}`;
  }

  function bar(row, reasons) {
    const span = Math.max(1, row.to - row.from);
    const svg = svgNode('svg', { class: 'bar', viewBox: '0 0 1000 20', preserveAspectRatio: 'none', role: 'img' });
    const words = [];
    let x = 0;
    let breakStart = null;
    let breakEnd = null;
    for (const seg of segments(row, reasons)) {
      const w = (seg.seconds / span) * 1000;
      const rect = svgNode('rect', { x, y: 0, width: w, height: 20, class: segClass(seg) });
      const title = svgNode('title', {});
      title.textContent = `${segLabel(seg)} ${duration(seg.seconds)}`;
      rect.append(title);
      svg.append(rect);
      words.push(title.textContent);
      if (seg.state === 'on_break') {
        if (breakStart === null) breakStart = x;
        breakEnd = x + w;
      }
      x += w;
    }
    if (row.overLimitSeconds > 0 && breakStart !== null) {
      svg.append(svgNode('rect', { x: breakStart, y: 1, width: breakEnd - breakStart, height: 18, class: 'seg-over' }));
      words.push(`over limit ${duration(row.overLimitSeconds)}`);
    }
    svg.setAttribute('aria-label', words.join(', '));
    return svg;
  }

  function figure(attrs, text) {
    return node('span', attrs, text);
  }

  function render(rows) {
    const reasons = [...new Set(rows.flatMap((r) => Object.keys(r.breakSeconds)))].sort();
    // Totals of every agent.
    const total = { overLimitSeconds: 0, overLimitBreaks: 0, calls: 0, breaks: 0 };
    for (const s of ORDER) total[s] = 0;
    for (const r of rows) {
      for (const s of ORDER) total[s] += r.seconds[s];
      total.overLimitSeconds += r.overLimitSeconds;
      total.overLimitBreaks += r.counts.overLimitBreaks;
      total.calls += r.counts.calls;
      total.breaks += r.counts.breaks;
    }
    const totals = ORDER.map((s) => [s, LABEL[s], duration(total[s]), total[s]]);
    totals.push(['calls', 'Calls', String(total.calls), total.calls]);
    totals.push(['breaks', 'Breaks', String(total.breaks), total.breaks]);
    totals.push(['overLimitBreaks', 'Breaks over limit', String(total.overLimitBreaks), total.overLimitBreaks]);
    totals.push(['overLimitSeconds', 'Time over limit', duration(total.overLimitSeconds), total.overLimitSeconds]);
    el.totals.replaceChildren(...totals.map(([key, label, shown, value]) => {
      const over = key.startsWith('overLimit') && value > 0;
      const box = node('div', { class: over ? 'total over' : 'total', 'data-total': key, 'data-value': value });
      box.append(node('span', { class: 'k' }, label), node('span', { class: 'v' }, shown));
      return box;
    }));
    // The legend: every state, and each reason present.
    const legend = [];
    for (const s of ORDER) {
      if (s === 'on_break') {
        reasons.forEach((reason, i) => legend.push([`seg-on_break alt${i % 4}`, `Break: ${reason}`]));
      } else {
        legend.push([`seg-${s}`, LABEL[s]]);
      }
    }
    legend.push(['seg-over', 'Over limit']);
    el.legend.replaceChildren(...legend.map(([cls, text]) => {
      const li = node('li');
      const swatch = svgNode('svg', { viewBox: '0 0 10 10', 'aria-hidden': 'true' });
      swatch.append(svgNode('rect', { x: 1, y: 1, width: 8, height: 8, class: cls }));
      li.append(swatch, node('span', {}, text));
      return li;
    }));
    // One block per agent: its bar, and the same numbers in words.
    el.agents.replaceChildren(...rows.map((r) => {
      const block = node('div', { class: 'report-agent', 'data-agent': r.agentId });
      const h = node('h3', {}, r.agentId);
      if (r.overLimitSeconds > 0) {
        h.append(node('span', { class: 'over-flag' }, `Over limit ${duration(r.overLimitSeconds)}`));
      }
      const figures = node('p', { class: 'figures' });
      for (const s of ORDER) {
        figures.append(figure({ 'data-state': s, 'data-seconds': r.seconds[s] }, `${LABEL[s]} ${duration(r.seconds[s])}`));
      }
      for (const reason of Object.keys(r.breakSeconds).sort()) {
        const s = r.breakSeconds[reason];
        figures.append(figure({ 'data-reason': reason, 'data-seconds': s }, `Break: ${reason} ${duration(s)}`));
      }
      const c = r.counts;
      figures.append(figure({ 'data-count': 'calls', 'data-value': c.calls }, `Calls ${c.calls}`));
      figures.append(figure({ 'data-count': 'breaks', 'data-value': c.breaks }, `Breaks ${c.breaks}`));
      figures.append(figure({ 'data-count': 'wrapUps', 'data-value': c.wrapUps }, `Wrap-ups ${c.wrapUps}`));
      figures.append(figure({ 'data-longest': r.longestBreak }, `Longest break ${duration(r.longestBreak)}`));
      const overAttrs = { 'data-over-seconds': r.overLimitSeconds, 'data-over-breaks': c.overLimitBreaks };
      if (r.overLimitSeconds > 0) overAttrs.class = 'over';
      figures.append(figure(overAttrs, `Over limit ${duration(r.overLimitSeconds)} (${c.overLimitBreaks} ${c.overLimitBreaks === 1 ? 'break' : 'breaks'})`));
      const occupancy = r.occupancy === null ? '–' : `${(r.occupancy * 100).toFixed(1)}%`;
      figures.append(figure({ 'data-occupancy': r.occupancy === null ? '' : r.occupancy }, `Occupancy ${occupancy}`));
      block.append(h, bar(r, reasons), figures);
      return block;
    }));
  }

  async function show() {
    el.status.textContent = 'Loading…';
    try {
      if (zone === null) zone = (await get('/v1/account', 'application/json')).timeZone || 'UTC';
      if (!el.day.value) el.day.value = today();
      const rows = await get(summaryUrl(), 'application/json');
      render(rows);
      el.section.dataset.day = el.day.value;
      el.status.textContent = `${rows.length} agents · ${el.day.value} (${zone})`;
    } catch (err) {
      el.status.textContent = err.message;
    }
  }

  async function download() {
    const url = summaryUrl('csv');
    try {
      const text = await get(url, 'text/csv');
      const href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = node('a', { href, download: `agent-states-${el.day.value || today()}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 1000);
      el.csv.dataset.url = url;
      el.csv.dataset.lines = String(text.split('\r\n').length - 1);
    } catch (err) {
      el.status.textContent = err.message;
    }
  }

  function setOpen(open) {
    el.section.hidden = !open;
    for (const n of el.hide) if (n) n.hidden = open;
    el.toggle.setAttribute('aria-pressed', String(open));
    el.toggle.textContent = open ? 'Roster' : 'Reports';
    if (open) show();
  }

  el.toggle.addEventListener('click', () => setOpen(el.section.hidden));
  el.form.addEventListener('submit', (e) => {
    e.preventDefault();
    show();
  });
  el.day.addEventListener('change', show);
  el.csv.addEventListener('click', download);
  document.getElementById('signout').addEventListener('click', () => {
    zone = null;
    setOpen(false);
    el.agents.replaceChildren();
  });
})();
