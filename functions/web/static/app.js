// The tracking page and operator panel. It talks only to the public API: HTTP paths relative to where the page is
// served (so a stage prefix such as /prod works) and the WebSocket URL that GET api/config names.
"use strict";

let TERMINAL = new Set(); // from GET api/config (the lifecycle's one source), before any order is shown
let CANCELLABLE = new Set(); // the statuses DELETE api/orders/{id} cancels from (not yet routing)
const COUNT_REFRESH_MS = 2000;
const PING_MS = 240000; // API Gateway closes a WebSocket idle for 10 minutes
const VENUE_COLOURS = { raydium: "#7c3aed", meteora: "#ea580c", split: "#0891b2" };

const state = {
  config: null,
  tokensByMint: new Map(),
  tokensBySymbol: new Map(),
  orders: new Map(), // orderId -> tracked order (live section)
  dirty: new Set(),
  frameRequested: false,
  chartDirty: false,
  history: { cursor: null, filters: {} },
  countsPaused: false,
  quote: null, // the quote the page shows (GET api/quote), until executed
  stats: { events: 0, flushes: 0, rowUpdates: 0, longestFlushMs: 0 }, // how well the batching keeps up
};

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

// ---- HTTP --------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The API answered ${status}.`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = Array.isArray(error.details) ? error.details : [];
  }
}

// ---- the API key ---------------------------------------------------------------------------------------------------
// Asked for once and kept in this tab's session storage; sent as a Bearer header over HTTP and as the apiKey query
// parameter on the WebSocket (a browser cannot set headers on the upgrade). A 401 forgets it, so the next request
// asks again. GET api/config and the page itself need no key.

const API_KEY_ITEM = "orderEngineApiKey";

function apiKey() {
  let key = sessionStorage.getItem(API_KEY_ITEM);
  if (!key) {
    key = (window.prompt("API key for this engine (./local/up prints one):") || "").trim();
    if (key) sessionStorage.setItem(API_KEY_ITEM, key);
  }
  return key || null;
}

function withApiKey(url) {
  const key = apiKey();
  if (!key) return url;
  return url + (url.includes("?") ? "&" : "?") + "apiKey=" + encodeURIComponent(key);
}

async function api(path, options = {}) {
  const init = { ...options, headers: { accept: "application/json", ...(options.headers || {}) } };
  if (path !== "api/config") {
    const key = apiKey();
    if (key) init.headers.authorization = "Bearer " + key;
  }
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: { message: "The API cannot be reached; check your connection." } });
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (err) { body = null; }
  if (response.status === 401) sessionStorage.removeItem(API_KEY_ITEM);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// ---- amounts ------------------------------------------------------------------------------------------------------

function tokenOf(symbolOrMint) {
  return state.tokensBySymbol.get(symbolOrMint) || state.tokensByMint.get(symbolOrMint) || null;
}

function formatUnits(raw, decimals, maxFraction = 6) {
  if (raw === null || raw === undefined || raw === "") return "";
  let value;
  try { value = BigInt(raw); } catch (err) { return String(raw); }
  const negative = value < 0n;
  if (negative) value = -value;
  const scale = 10n ** BigInt(decimals);
  const whole = value / scale;
  let fraction = (value % scale).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  return (negative ? "-" : "") + whole.toLocaleString("en-US") + (fraction ? "." + fraction : "");
}

function amountOf(raw, symbol) {
  const token = tokenOf(symbol);
  return token ? `${formatUnits(raw, token.decimals)} ${token.symbol}` : String(raw ?? "");
}

function shortId(id) { return id ? id.slice(0, 8) : ""; }
function shortSig(sig) { return sig ? `${sig.slice(0, 6)}…${sig.slice(-4)}` : ""; }
function timeOf(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
}
function dateTimeOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso || "") : d.toLocaleString([], { hour12: false });
}

// ---- a tracked order: its events by seq, and what they add up to ------------------------------------------------

function track(summary) {
  let order = state.orders.get(summary.orderId);
  if (!order) {
    order = { orderId: summary.orderId, events: new Map(), summary: {} };
    state.orders.set(summary.orderId, order);
  }
  Object.assign(order.summary, Object.fromEntries(Object.entries(summary).filter(([, v]) => v !== undefined)));
  markDirty(order.orderId);
  return order;
}

function onStatusEvent(event) {
  const order = state.orders.get(event.orderId) || track({ orderId: event.orderId });
  if (order.events.has(event.seq)) return; // a replayed frame we already have
  order.events.set(event.seq, event);
  state.stats.events += 1;
  markDirty(order.orderId);
  if (event.status === "confirmed") state.chartDirty = true;
}

// Fold the events in seq order into what a row shows (an event may overtake a replayed one by a few ms).
function derive(order) {
  const view = { ...order.summary, status: order.summary.status || "accepted", retries: [], steps: null };
  const seqs = [...order.events.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const e = order.events.get(seq);
    view.status = e.status;
    view.attempt = e.attempt;
    view.lastSeq = seq;
    if (e.status === "pending" && e.retriedBy) { // an operator started it over: what came before is history
      Object.assign(view, { retries: [], route: null, steps: null, txHash: null, minAmountOut: null, dex: null,
                            executedPrice: null, amountOut: null, error: null, failReason: null,
                            requeued: e.previous && e.previous.error });
    } else if (e.status === "routing" && e.retry) {
      view.retries.push({ attempt: e.retry.previousAttempt, reason: e.retry.reason, error: e.retry.error,
                          delayMs: e.retry.delayMs });
      view.txHash = null;
    } else if (e.status === "routing") {
      view.route = e;
    } else if (e.status === "building") {
      view.steps = e.steps || null;
      view.minAmountOut = e.minAmountOut;
      view.txHash = e.txHash || view.txHash;
    } else if (e.status === "submitted") {
      view.txHash = e.txHash || view.txHash;
    } else if (e.status === "confirmed") {
      const o = e.order || {};
      Object.assign(view, { dex: e.dex, txHash: e.txHash, executedPrice: e.executedPrice, amountOut: e.amountOut,
                            minAmountOut: o.minAmountOut ?? view.minAmountOut, completedAt: o.completedAt });
    } else if (e.status === "failed") {
      view.error = e.error;
      view.failReason = e.reason;
    }
  }
  view.seqs = seqs;
  return view;
}

// ---- rendering: keyed rows, batched into one animation frame -----------------------------------------------------

function markDirty(orderId) {
  state.dirty.add(orderId);
  if (!state.frameRequested) {
    state.frameRequested = true;
    requestAnimationFrame(flush);
  }
}

// the most rows one frame touches: a burst (hundreds of orders at once) is spread over a few frames instead of one
// long one, so the page keeps answering input while it catches up
const ROWS_PER_FRAME = 120;

function flush() {
  const began = performance.now();
  state.frameRequested = false;
  state.stats.flushes += 1;
  const body = $("#live-rows");
  const fresh = document.createDocumentFragment();
  let done = 0;
  for (const orderId of state.dirty) {
    if (done === ROWS_PER_FRAME) break;
    state.dirty.delete(orderId);
    done += 1;
    const order = state.orders.get(orderId);
    if (!order) continue;
    if (!order.row) {
      order.row = buildLiveRow(orderId);
      fresh.prepend(order.row);
    }
    renderLiveRow(order.row, derive(order));
  }
  state.stats.rowUpdates += done;
  if (state.dirty.size && !state.frameRequested) {
    state.frameRequested = true;
    requestAnimationFrame(flush);
  }
  if (fresh.childNodes.length) body.prepend(fresh);
  $("#live-empty").hidden = state.orders.size > 0;
  const open = [...state.orders.values()].filter((o) => !TERMINAL.has(o.row?.dataset.status)).length;
  $("#live-count").textContent = state.orders.size ? `(${state.orders.size}, ${open} in progress)` : "";
  if (state.chartDirty) {
    state.chartDirty = false;
    drawChart();
  }
  state.stats.longestFlushMs = Math.max(state.stats.longestFlushMs, performance.now() - began);
}

const LIVE_CELLS = ["order", "swap", "status", "route", "quotes", "steps", "signature", "price", "out", "notes",
                    "actions"];
const LIVE_LABELS = ["Order", "Swap", "Status", "Route", "Quotes after fees", "Steps", "Signature", "Price",
                     "Out / minimum", "Retries and failures", ""];

function buildLiveRow(orderId) {
  const row = el("tr", { "data-order-id": orderId, tabindex: "0", class: "order-row",
                         "aria-label": `Order ${shortId(orderId)}: open its timeline` });
  LIVE_CELLS.forEach((name, i) => row.append(el("td", { "data-cell": name, "data-label": LIVE_LABELS[i] })));
  row.addEventListener("click", (event) => { if (!event.target.closest("button")) openTimeline(orderId); });
  row.addEventListener("keydown", (event) => {
    if (event.target === row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openTimeline(orderId);
    }
  });
  return row;
}

function setCell(row, name, content, title) {
  const cell = row.querySelector(`[data-cell="${name}"]`);
  if (typeof content === "string") {
    if (cell.textContent !== content) cell.textContent = content;
  } else {
    cell.replaceChildren(...content);
  }
  if (title) cell.title = title; else cell.removeAttribute("title");
}

function statusBadge(status, attempt) {
  const badge = el("span", { class: `badge status-${status}`, text: status });
  return attempt && attempt > 1 ? [badge, el("span", { class: "muted", text: ` attempt ${attempt}` })] : [badge];
}

function chosenVenue(route) {
  const legs = route.legs || [];
  return legs.length > 1 ? "split " + legs.map((l) => `${l.percent}% ${l.venue}`).join(" + ")
    : (route.dex || legs[0]?.venue || "");
}

function routeText(route) {
  return route ? chosenVenue(route) + (route.reason ? `: ${route.reason}` : "") : "";
}

function quotesNodes(route, tokenIn, tokenOut) {
  if (!route || !route.quotes) return [];
  const nodes = route.quotes.map((q) => el("div", { class: `quote venue-${q.venue}` },
    el("strong", { text: q.venue }), ` ${amountOf(q.amountOut, tokenOut)}`,
    el("span", { class: "muted", text: ` (fee ${amountOf(q.fee, tokenIn)}, impact ${(q.priceImpactBps / 100).toFixed(2)}%)` })));
  for (const f of route.failedVenues || []) {
    nodes.push(el("div", { class: "quote failed", text: `${f.venue}: ${f.reason}` }));
  }
  return nodes;
}

function renderLiveRow(row, v) {
  row.dataset.status = v.status;
  row.dataset.seqs = v.seqs.join(",");
  if (v.dex) row.dataset.dex = v.dex;
  const tokenIn = v.tokenIn || "", tokenOut = v.tokenOut || "";
  setCell(row, "order", v.clientOrderId ? `${shortId(v.orderId)} · ${v.clientOrderId}` : shortId(v.orderId), v.orderId);
  setCell(row, "swap", swapText({ ...v, amount: v.amount ?? "", tokenIn, tokenOut }));
  setCell(row, "status", statusBadge(v.status, v.attempt));
  setCell(row, "route", v.route ? [el("strong", { text: chosenVenue(v.route) }),
                                   el("div", { class: "muted", text: v.route.reason || "" })] : []);
  setCell(row, "quotes", quotesNodes(v.route, tokenIn, tokenOut));
  setCell(row, "steps", v.steps ? v.steps.join(" → ") : "");
  setCell(row, "signature", shortSig(v.txHash), v.txHash || "");
  setCell(row, "price", v.executedPrice ? `${Number(v.executedPrice).toPrecision(6)} ${tokenOut}/${tokenIn}` : "");
  const out = v.amountOut ? amountOf(v.amountOut, tokenOut) : "";
  const min = v.minAmountOut ? amountOf(v.minAmountOut, tokenOut) : "";
  setCell(row, "out", out || min ? `${out || "…"} / ≥ ${min || "…"}` : "");
  const notes = v.retries.map((r) => `attempt ${r.attempt} failed (${r.reason}), retried after ${r.delayMs} ms`);
  if (v.requeued) notes.unshift(`re-queued by an operator after: ${v.requeued}`);
  if (v.error) notes.push(`failed: ${v.error}`);
  setCell(row, "notes", notes.join("; "));
  // "accepted": submit answered, the pending event not here yet; rebuilt only when it changes, to keep focus
  const cancellable = String(CANCELLABLE.has(v.status) || v.status === "accepted");
  const actions = row.querySelector('[data-cell="actions"]');
  if (actions.dataset.cancellable !== cancellable) {
    actions.dataset.cancellable = cancellable;
    actions.replaceChildren(...(cancellable === "true" ? [cancelButton(v.orderId)] : []));
  }
}

// ---- the WebSocket: one connection, resubscribed after every reconnect ------------------------------------------

// Subscribes go out a few at a time and each waits for its "subscribed" acknowledgement: a burst of hundreds would
// queue behind each other in the subscribe function until API Gateway's 29 s integration timeout drops some of
// them (the client is told only "Internal server error"), so an unacknowledged subscribe is sent again.
const MAX_OUTSTANDING_SUBSCRIBES = 8;
const SUBSCRIBE_ACK_TIMEOUT_MS = 15000;

const live = {
  ws: null,
  attempt: 0,
  pingTimer: null,
  waiting: [], // order ids to subscribe, in order
  outstanding: new Map(), // order id -> when its subscribe was sent

  connect() {
    setConnection("connecting", this.attempt ? "Reconnecting…" : "Connecting…");
    let ws;
    try {
      ws = new WebSocket(withApiKey(state.config.wsUrl));
    } catch (err) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      setConnection("live", "Live");
      // the replay on subscribe fills whatever was missed while disconnected; duplicates are dropped by seq
      this.outstanding.clear();
      this.waiting = [...state.orders.values()].filter((o) => !TERMINAL.has(derive(o).status)).map((o) => o.orderId);
      this.pump();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ action: "ping" }), PING_MS);
    };
    ws.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch (err) { return; }
      if (frame.type === "status") onStatusEvent(frame);
      else if (frame.type === "subscribed") this.acknowledged(frame.orderId);
      else if (frame.type === "error" && frame.orderId) this.acknowledged(frame.orderId);
    };
    ws.onclose = () => {
      clearInterval(this.pingTimer);
      if (this.ws === ws) this.retry();
    };
  },

  retry() {
    this.ws = null;
    this.attempt += 1;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this.attempt, 5)) * (0.75 + Math.random() / 2);
    setConnection("down", `Disconnected; reconnecting in ${Math.ceil(delay / 1000)} s`);
    setTimeout(() => this.connect(), delay);
  },

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  },

  subscribe(orderId) {
    if (!this.waiting.includes(orderId) && !this.outstanding.has(orderId)) this.waiting.push(orderId);
    this.pump();
  },

  acknowledged(orderId) {
    this.outstanding.delete(orderId);
    this.pump();
  },

  pump() {
    const now = Date.now();
    for (const [orderId, sentAt] of this.outstanding) {
      if (now - sentAt > SUBSCRIBE_ACK_TIMEOUT_MS) {
        this.outstanding.delete(orderId);
        this.waiting.unshift(orderId);
      }
    }
    while (this.outstanding.size < MAX_OUTSTANDING_SUBSCRIBES && this.waiting.length) {
      const orderId = this.waiting.shift();
      const order = state.orders.get(orderId);
      if (order && TERMINAL.has(derive(order).status)) continue;
      if (!this.send({ action: "subscribe", orderId })) {
        this.waiting.unshift(orderId); // not connected: onopen subscribes everything unfinished
        return;
      }
      this.outstanding.set(orderId, now);
    }
  },
};

function setConnection(kind, text) {
  const node = $("#connection");
  node.dataset.state = kind;
  $("#connection-text").textContent = text;
}

// ---- submit -------------------------------------------------------------------------------------------------------

function clearErrors(form) {
  for (const node of form.querySelectorAll(".error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showErrors(form, err) {
  const details = err.details.length ? err.details : [{ field: "body", message: err.message }];
  let first = null;
  for (const detail of details) {
    const field = form.querySelector(`.error[data-field="${CSS.escape(detail.field || "body")}"]`)
      || form.querySelector('.error[data-field="body"]');
    field.textContent = field.textContent ? `${field.textContent} ${detail.message}` : detail.message || err.message;
    const input = form.elements[detail.field];
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
  }
  if (first) first.focus();
}

async function submitOrder(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = { tokenIn: form.tokenIn.value, tokenOut: form.tokenOut.value, amount: form.amount.value.trim() };
  if (form.type.value === "limit" || form.type.value === "sniper") { // bounded by its own price: no slippage
    body.type = form.type.value;
    if (body.type === "limit") body.limitPrice = form.limitPrice.value.trim();
    else body.maxPrice = form.maxPrice.value.trim();
    const ttl = form.ttlSeconds.value.trim();
    body.ttlSeconds = /^-?\d+$/.test(ttl) ? Number(ttl) : ttl;
  } else {
    const slippage = form.slippageBps.value.trim();
    if (slippage !== "") body.slippageBps = /^-?\d+$/.test(slippage) ? Number(slippage) : slippage;
  }
  if (form.clientOrderId.value.trim()) body.clientOrderId = form.clientOrderId.value.trim();
  const button = $("#submit");
  button.disabled = true;
  try {
    const accepted = await api("api/orders/execute", { json: body });
    track({ orderId: accepted.orderId, status: "accepted", tokenIn: body.tokenIn, tokenOut: body.tokenOut,
            amount: body.amount, clientOrderId: body.clientOrderId, type: body.type, limitPrice: body.limitPrice,
            maxPrice: body.maxPrice });
    live.subscribe(accepted.orderId);
  } catch (err) {
    showErrors(form, err);
  } finally {
    button.disabled = false;
  }
}

// ---- quote preview ------------------------------------------------------------------------------------------------

function orderFields(form) {
  const fields = { tokenIn: form.tokenIn.value, tokenOut: form.tokenOut.value, amount: form.amount.value.trim() };
  const slippage = form.slippageBps.value.trim();
  if (slippage !== "") fields.slippageBps = slippage;
  return fields;
}

async function getQuote() {
  const form = $("#order-form");
  clearErrors(form);
  const panel = $("#quote");
  try {
    const quote = await api(`api/quote?${new URLSearchParams(orderFields(form))}`);
    state.quote = quote;
    $("#quote-venues").replaceChildren(...quote.quotes.map((q) => el("tr", {},
      el("td", { text: q.venue + (q.venue === quote.route.dex ? " (chosen)" : "") }),
      el("td", { text: amountOf(q.amountOut, quote.tokenOut) }),
      el("td", { text: String(q.priceImpactBps) }))));
    const legs = quote.route.legs.map((leg) => `${leg.percent}% ${leg.venue}`).join(", ");
    $("#quote-route").textContent = `Route: ${legs}. ${quote.route.reason}`;
    $("#quote-minimum").textContent = `Expected ${amountOf(quote.expectedAmountOut, quote.tokenOut)}, at least `
      + `${amountOf(quote.minAmountOut, quote.tokenOut)} (${quote.slippageBps} bps).`;
    $("#quote-expiry").textContent = `valid until ${new Date(quote.expiresAt).toLocaleTimeString([], { hour12: false })}`;
    $("#execute-quote").disabled = false;
    panel.hidden = false;
  } catch (err) {
    panel.hidden = true;
    showErrors(form, err);
  }
}

async function executeQuote() {
  const form = $("#order-form");
  const quote = state.quote;
  if (!quote) return;
  clearErrors(form);
  const body = { tokenIn: quote.tokenIn, tokenOut: quote.tokenOut, amount: quote.amount, quoteId: quote.quoteId };
  $("#execute-quote").disabled = true;
  try {
    const accepted = await api("api/orders/execute", { json: body });
    track({ orderId: accepted.orderId, status: "accepted", tokenIn: body.tokenIn, tokenOut: body.tokenOut,
            amount: body.amount });
    live.subscribe(accepted.orderId);
    $("#quote").hidden = true;
    state.quote = null;
  } catch (err) {
    $("#execute-quote").disabled = false;
    showErrors(form, err); // an expired quote names quoteId: shown under the form
  }
}

// ---- history -----------------------------------------------------------------------------------------------------

async function loadHistory(reset) {
  const error = $("#history-error");
  error.textContent = "";
  if (reset) {
    state.history.cursor = null;
    $("#history-rows").replaceChildren();
  }
  const params = new URLSearchParams({ limit: "20" });
  for (const [key, value] of Object.entries(state.history.filters)) if (value) params.set(key, value);
  if (state.history.cursor) params.set("cursor", state.history.cursor);
  try {
    const page = await api(`api/orders/history?${params}`);
    const rows = document.createDocumentFragment();
    for (const order of page.orders) rows.append(historyRow(order));
    $("#history-rows").append(rows);
    state.history.cursor = page.nextCursor;
    $("#history-more").hidden = !page.nextCursor;
    rememberPrices(page.orders);
  } catch (err) {
    error.textContent = err.message;
  }
}

// A limit order says its limit and expiry beside the swap, a sniper order its max price.
function swapText(order) {
  const swap = `${order.amount} ${order.tokenIn} → ${order.tokenOut}`;
  const until = order.expiresAt ? ` until ${dateTimeOf(order.expiresAt)}` : "";
  if (order.type === "sniper" && order.maxPrice) {
    return `${swap} · snipe at listing, ≤ ${order.maxPrice} ${order.tokenIn}/${order.tokenOut}${until}`;
  }
  if (order.type !== "limit" || !order.limitPrice) return swap;
  return `${swap} · limit ≥ ${order.limitPrice} ${order.tokenOut}/${order.tokenIn}${until}`;
}

function historyRow(order) {
  const row = el("tr", { "data-order-id": order.orderId, "data-status": order.status, class: "order-row",
                         tabindex: "0", "aria-label": `Order ${shortId(order.orderId)}: open its timeline` });
  const cells = [
    ["Created", dateTimeOf(order.createdAt)],
    ["Order", order.clientOrderId ? `${shortId(order.orderId)} · ${order.clientOrderId}` : shortId(order.orderId)],
    ["Swap", swapText(order)],
    ["Status", statusBadge(order.status, order.attempts)],
    ["Venue", order.dex || ""],
    ["Price", order.executedPrice ? Number(order.executedPrice).toPrecision(6) : ""],
    ["Out", order.amountOut ? amountOf(order.amountOut, order.tokenOut) : ""],
  ];
  for (const [label, content] of cells) {
    const cell = el("td", { "data-label": label });
    if (typeof content === "string") cell.textContent = content; else cell.append(...content);
    row.append(cell);
  }
  const actions = el("td", { "data-label": "" });
  if (order.status === "failed") actions.append(retryButton(order.orderId));
  if (CANCELLABLE.has(order.status)) {
    actions.append(cancelButton(order.orderId, (cancelled) => {
      row.dataset.status = cancelled.status;
      row.querySelector('[data-label="Status"]').replaceChildren(...statusBadge(cancelled.status, cancelled.attempts));
    }));
  }
  row.append(actions);
  row.addEventListener("click", (event) => { if (!event.target.closest("button")) openTimeline(order.orderId); });
  row.addEventListener("keydown", (event) => {
    if (event.target === row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openTimeline(order.orderId);
    }
  });
  return row;
}

// ---- the timeline dialog ------------------------------------------------------------------------------------------

function describeEvent(e, order) {
  const parts = [];
  if (e.status === "routing" && e.retry) parts.push(`retry after attempt ${e.retry.previousAttempt}: ${e.retry.error || e.retry.reason}`);
  else if (e.status === "routing" && e.quotes) {
    parts.push(`route: ${routeText(e)}`);
    for (const q of e.quotes) parts.push(`${q.venue} quoted ${amountOf(q.amountOut, order.tokenOut)} (impact ${(q.priceImpactBps / 100).toFixed(2)}%)`);
  }
  if (e.steps) parts.push(`steps: ${e.steps.join(" → ")}`);
  if (e.minAmountOut) parts.push(`minimum out ${amountOf(e.minAmountOut, order.tokenOut)}`);
  if (e.txHash) parts.push(`signature ${e.txHash}`);
  if (e.executedPrice) parts.push(`price ${e.executedPrice}`);
  if (e.amountOut) parts.push(`out ${amountOf(e.amountOut, order.tokenOut)}`);
  if (e.error && !e.retry) parts.push(`error: ${e.error}`);
  return parts.join("; ");
}

async function openTimeline(orderId) {
  const dialog = $("#timeline");
  const summary = $("#timeline-summary");
  const list = $("#timeline-events");
  summary.textContent = "Loading…";
  list.replaceChildren();
  if (!dialog.open) dialog.showModal();
  try {
    const order = await api(`api/orders/${encodeURIComponent(orderId)}`);
    summary.replaceChildren(
      el("p", {}, el("strong", { text: swapText(order) }), " ",
         ...statusBadge(order.status, order.attempts)),
      el("p", { class: "mono", text: order.orderId }),
      el("p", { text: order.error ? `Failed: ${order.error}` :
        order.amountOut ? `Out ${amountOf(order.amountOut, order.tokenOut)} on ${order.dex} at ${order.executedPrice}` : "" }));
    for (const e of order.events) {
      list.append(el("li", { "data-seq": String(e.seq), "data-status": e.status },
        el("span", { class: `badge status-${e.status}`, text: e.status }),
        el("span", { class: "muted", text: ` #${e.seq} ${timeOf(e.at)} attempt ${e.attempt} ` }),
        el("span", { text: describeEvent(e, order) })));
    }
  } catch (err) {
    summary.textContent = err.message;
  }
}

// ---- operator panel ------------------------------------------------------------------------------------------------

async function refreshCounts() {
  if (state.countsPaused || document.hidden) return;
  try {
    const counts = await api("api/queue");
    for (const node of document.querySelectorAll("[data-count]")) {
      const value = String(counts[node.dataset.count] ?? "–");
      if (node.textContent !== value) node.textContent = value;
    }
    $("#counts-updated").textContent = `Queue counts at ${new Date().toLocaleTimeString([], { hour12: false })}`;
    if (counts.deadLettered !== state.lastDead) {
      state.lastDead = counts.deadLettered;
      loadDeadLetters();
    }
  } catch (err) {
    $("#counts-updated").textContent = `Queue counts unavailable: ${err.message}`;
  }
}

async function loadDeadLetters() {
  const list = $("#dead-letters");
  try {
    const page = await api("api/operator/dead-letters?limit=50");
    list.replaceChildren(...page.deadLetters.map((entry) => {
      const item = el("li", { "data-order-id": entry.orderId || "" },
        el("span", { class: "mono", text: entry.orderId ? shortId(entry.orderId) : entry.entry }),
        el("span", { text: ` ${entry.reason}` }),
        el("span", { class: "muted", text: ` ${dateTimeOf(entry.at)}` }));
      if (entry.orderId && entry.retryable) item.append(" ", retryButton(entry.orderId));
      return item;
    }));
    $("#dead-empty").hidden = page.deadLetters.length > 0;
  } catch (err) {
    $("#operator-error").textContent = err.message;
  }
}

function retryButton(orderId) {
  const button = el("button", { type: "button", class: "retry", "data-retry": orderId,
                                "aria-label": `Retry order ${shortId(orderId)}`, text: "Retry" });
  button.addEventListener("click", () => retryOrder(orderId, button));
  return button;
}

async function retryOrder(orderId, button) {
  const error = $("#operator-error");
  error.textContent = "";
  button.disabled = true;
  try {
    const result = await api(`api/operator/orders/${encodeURIComponent(orderId)}/retry`, { method: "POST" });
    const order = result.order || {};
    const tracked = state.orders.get(orderId);
    if (tracked) { tracked.events.clear(); }
    track({ orderId, status: order.status, tokenIn: order.tokenIn, tokenOut: order.tokenOut, amount: order.amount,
            clientOrderId: order.clientOrderId || undefined });
    live.subscribe(orderId);
    button.textContent = "Re-queued";
    loadDeadLetters();
  } catch (err) {
    error.textContent = err.message;
    button.disabled = false;
  }
}

// Cancel an order that has not started routing. The cancelled event reaches a live row over the WebSocket like
// every other step; a 409 (it started routing meanwhile) is shown, with the status the API names, under the table.
function cancelButton(orderId, onCancelled = () => {}) {
  const button = el("button", { type: "button", class: "cancel", "data-cancel": orderId,
                                "aria-label": `Cancel order ${shortId(orderId)}`, text: "Cancel" });
  button.addEventListener("click", async () => {
    const errorBox = button.closest("section").querySelector(".cancel-error");
    errorBox.textContent = "";
    button.disabled = true;
    try {
      const order = await api(`api/orders/${encodeURIComponent(orderId)}`, { method: "DELETE" });
      button.textContent = "Cancelled";
      onCancelled(order);
    } catch (err) {
      errorBox.textContent = `Order ${shortId(orderId)}: ${err.message}`;
      button.remove();
    }
  });
  return button;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function search(event) {
  event.preventDefault();
  const q = $("#search").value.trim();
  const error = $("#search-error");
  const results = $("#search-results");
  error.textContent = "";
  results.replaceChildren();
  if (!q) return;
  try {
    const orders = UUID.test(q) ? [await api(`api/orders/${q}`)]
      : (await api(`api/orders/history?clientOrderId=${encodeURIComponent(q)}&limit=20`)).orders;
    if (!orders.length) { error.textContent = `No order has the id or reference ${q}.`; return; }
    const table = el("table", { class: "orders", "aria-label": "Search results" }, el("tbody"));
    for (const order of orders) table.tBodies[0].append(historyRow(order));
    results.append(table);
  } catch (err) {
    error.textContent = err.message;
  }
}

// ---- the price chart ----------------------------------------------------------------------------------------------

const prices = new Map(); // orderId -> {pair, dex, price, at}

function rememberPrices(orders) {
  for (const o of orders) {
    if (o.status === "confirmed" && o.executedPrice) {
      prices.set(o.orderId, { pair: `${o.tokenIn}/${o.tokenOut}`, dex: o.dex, price: Number(o.executedPrice),
                              at: Date.parse(o.completedAt || o.updatedAt) });
    }
  }
  drawChart();
}

function drawChart() {
  for (const order of state.orders.values()) {
    const v = derive(order);
    if (v.status === "confirmed" && v.executedPrice) {
      prices.set(order.orderId, { pair: `${v.tokenIn}/${v.tokenOut}`, dex: v.dex, price: Number(v.executedPrice),
                                  at: Date.parse(v.completedAt) || Date.now() });
    }
  }
  const select = $("#chart-pair");
  const pairs = [...new Set([...prices.values()].map((p) => p.pair))].sort();
  if (pairs.join() !== [...select.options].map((o) => o.value).join()) {
    const chosen = select.value;
    select.replaceChildren(...pairs.map((p) => el("option", { value: p, text: p.replace("/", " → ") })));
    select.value = pairs.includes(chosen) ? chosen : (pairs.includes("SOL/USDC") ? "SOL/USDC" : pairs[0] || "");
  }
  const points = [...prices.values()].filter((p) => p.pair === select.value).sort((a, b) => a.at - b.at).slice(-200);
  const svg = $("#chart");
  // drawn in CSS pixels of its current width, so text and dots keep their size at any width
  const W = Math.max(280, Math.round(svg.getBoundingClientRect().width) || 640), H = 220;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const PAD = { l: 64, r: 12, t: 12, b: 24 };
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const caption = $("#chart-caption");
  if (!points.length) {
    svg.replaceChildren();
    caption.textContent = "No confirmed orders for this pair yet.";
    return;
  }
  let lo = Math.min(...points.map((p) => p.price)), hi = Math.max(...points.map((p) => p.price));
  if (hi - lo < hi * 1e-4) { lo *= 0.999; hi *= 1.001; }
  const x = (i) => PAD.l + (points.length === 1 ? 0.5 : i / (points.length - 1)) * (W - PAD.l - PAD.r);
  const y = (price) => PAD.t + (1 - (price - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const children = [
    node("line", { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: "axis" }),
    node("line", { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: "axis" }),
    node("text", { x: PAD.l - 6, y: y(hi) + 4, "text-anchor": "end", class: "tick" }, hi.toPrecision(6)),
    node("text", { x: PAD.l - 6, y: y(lo) + 4, "text-anchor": "end", class: "tick" }, lo.toPrecision(6)),
    node("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end", class: "tick" }, "older → newer"),
  ];
  const byVenue = new Map();
  points.forEach((p, i) => {
    const venue = VENUE_COLOURS[p.dex] ? p.dex : "split";
    if (!byVenue.has(venue)) byVenue.set(venue, []);
    byVenue.get(venue).push([x(i), y(p.price), p]);
  });
  let legendX = PAD.l + 8;
  for (const [venue, pts] of byVenue) {
    if (pts.length > 1) {
      children.push(node("polyline", { points: pts.map(([px, py]) => `${px},${py}`).join(" "), fill: "none",
                                       stroke: VENUE_COLOURS[venue], "stroke-width": 1.5, "stroke-opacity": 0.5 }));
    }
    for (const [px, py, p] of pts) {
      const dot = node("circle", { cx: px, cy: py, r: 3.5, fill: VENUE_COLOURS[venue], "data-venue": venue });
      dot.append(node("title", {}, `${p.dex}: ${p.price}`));
      children.push(dot);
    }
    children.push(node("circle", { cx: legendX, cy: PAD.t + 6, r: 4, fill: VENUE_COLOURS[venue] }));
    children.push(node("text", { x: legendX + 8, y: PAD.t + 10, class: "legend" }, venue));
    legendX += 90;
  }
  svg.replaceChildren(...children);
  const venues = [...byVenue].map(([venue, pts]) => `${venue} ${pts.length}`).join(", ");
  caption.textContent = `${points.length} confirmed ${select.value.replace("/", " → ")} orders (${venues}); price in ${select.value.split("/")[1]} per ${select.value.split("/")[0]}.`;
}

// ---- start ---------------------------------------------------------------------------------------------------------

async function start() {
  try {
    state.config = await api("api/config");
  } catch (err) {
    setConnection("down", `Cannot load the configuration: ${err.message}`);
    return;
  }
  TERMINAL = new Set(state.config.lifecycle.terminal);
  CANCELLABLE = new Set(state.config.lifecycle.cancellable);
  $("#history-status").append(...state.config.lifecycle.statuses.map((s) => el("option", { value: s, text: s })));
  for (const token of state.config.tokens) {
    state.tokensBySymbol.set(token.symbol, token);
    state.tokensByMint.set(token.mint, token);
  }
  const symbols = state.config.tokens.map((t) => t.symbol);
  const options = () => symbols.map((s) => el("option", { value: s, text: s }));
  $("#tokenIn").replaceChildren(...options());
  $("#tokenOut").replaceChildren(...options());
  $("#tokenOut").value = symbols.find((s) => s !== $("#tokenIn").value) || symbols[0];
  $("#history-token").append(...options());
  $("#slippageBps").value = String(state.config.defaultSlippageBps);

  $("#order-form").addEventListener("submit", submitOrder);
  $("#orderType").addEventListener("change", (event) => { // limit and sniper: a price and an expiry, no slippage
    const type = event.target.value;
    const shown = (field) => (field.classList.contains("limit-only") && type === "limit")
      || (field.classList.contains("sniper-only") && type === "sniper");
    for (const field of document.querySelectorAll("#order-form .limit-only, #order-form .sniper-only")) {
      field.hidden = !shown(field);
    }
    for (const field of document.querySelectorAll("#order-form .market-only")) field.hidden = type !== "market";
  });
  $("#get-quote").addEventListener("click", getQuote);
  $("#execute-quote").addEventListener("click", executeQuote);
  $("#history-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.history.filters = { status: $("#history-status").value, token: $("#history-token").value };
    loadHistory(true);
  });
  $("#history-more").addEventListener("click", () => loadHistory(false));
  $("#search-form").addEventListener("submit", search);
  $("#chart-pair").addEventListener("change", drawChart);
  $("#counts-pause").addEventListener("click", (event) => {
    state.countsPaused = !state.countsPaused;
    event.currentTarget.setAttribute("aria-pressed", String(state.countsPaused));
    event.currentTarget.textContent = state.countsPaused ? "Resume refresh" : "Pause refresh";
    if (!state.countsPaused) refreshCounts();
  });

  live.connect();
  loadHistory(true);
  refreshCounts();
  loadDeadLetters();
  setInterval(refreshCounts, COUNT_REFRESH_MS);
  setInterval(() => live.pump(), 1000); // re-sends subscribes whose acknowledgement never came
}

window.orderPage = { state, track, live }; // for the console (and the browser tests' load check)
document.addEventListener("DOMContentLoaded", start);
