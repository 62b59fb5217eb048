// The live orders table: the orders this tab follows, keyed rows redrawn in one animation frame per batch of
// events.

import { cancelButton } from "./cancel-button.js";
import { drawChart } from "./chart.js";
import { $, el, openOnActivate, orderLabel, statusBadge } from "./dom.js";
import { amountOf, chosenVenue, impactPercent, shortId, shortSig, swapText } from "./format.js";
import { derive } from "./orders.js";
import { state } from "./state.js";
import { openTimeline } from "./timeline.js";

// the most rows one frame touches: a burst (hundreds of orders at once) is spread over a few frames instead of one
// long one, so the page keeps answering input while it catches up
const ROWS_PER_FRAME = 120;

const CELLS = [
  ["order", "Order"], ["swap", "Swap"], ["status", "Status"], ["route", "Route"], ["quotes", "Quotes after fees"],
  ["steps", "Steps"], ["signature", "Signature"], ["price", "Price"], ["out", "Out / minimum"],
  ["notes", "Retries and failures"], ["actions", ""],
];

// Follow an order (or add to what is known of it); `summary` is what the submit or an API answer said.
export function track(summary) {
  let order = state.orders.get(summary.orderId);
  if (!order) {
    order = { orderId: summary.orderId, events: new Map(), summary: {} };
    state.orders.set(summary.orderId, order);
  }
  Object.assign(order.summary, Object.fromEntries(Object.entries(summary).filter(([, v]) => v !== undefined)));
  markDirty(order.orderId);
  return order;
}

// Start an order over (an operator's retry): its earlier events are history.
export function retrack(summary) {
  state.orders.get(summary.orderId)?.events.clear();
  return track(summary);
}

export function onStatusEvent(event) {
  const order = state.orders.get(event.orderId) || track({ orderId: event.orderId });
  if (order.events.has(event.seq)) return; // a replayed frame we already have
  order.events.set(event.seq, event);
  state.stats.events += 1;
  markDirty(order.orderId);
  if (event.status === "confirmed") state.chartDirty = true;
}

function markDirty(orderId) {
  state.dirty.add(orderId);
  requestFrame();
}

function requestFrame() {
  if (state.frameRequested) return;
  state.frameRequested = true;
  requestAnimationFrame(flush);
}

function flush() {
  const began = performance.now();
  state.frameRequested = false;
  state.stats.flushes += 1;
  const fresh = document.createDocumentFragment();
  let done = 0;
  for (const orderId of state.dirty) {
    if (done === ROWS_PER_FRAME) break;
    state.dirty.delete(orderId);
    done += 1;
    const order = state.orders.get(orderId);
    if (!order) continue;
    if (!order.row) {
      order.row = buildRow(orderId);
      fresh.prepend(order.row);
    }
    renderRow(order.row, derive(order));
  }
  state.stats.rowUpdates += done;
  if (state.dirty.size) requestFrame();
  if (fresh.childNodes.length) $("#live-rows").prepend(fresh);
  $("#live-empty").hidden = state.orders.size > 0;
  const open = [...state.orders.values()].filter((o) => !state.terminal.has(o.row?.dataset.status)).length;
  $("#live-count").textContent = state.orders.size ? `(${state.orders.size}, ${open} in progress)` : "";
  if (state.chartDirty) {
    state.chartDirty = false;
    drawChart();
  }
  state.stats.longestFlushMs = Math.max(state.stats.longestFlushMs, performance.now() - began);
}

function buildRow(orderId) {
  const row = el("tr", { "data-order-id": orderId, tabindex: "0", class: "order-row",
                         "aria-label": `Order ${shortId(orderId)}: open its timeline` });
  for (const [name, label] of CELLS) row.append(el("td", { "data-cell": name, "data-label": label }));
  openOnActivate(row, orderId, openTimeline);
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

function quotesNodes(route, tokenIn, tokenOut) {
  if (!route || !route.quotes) return [];
  const nodes = route.quotes.map((q) => el("div", { class: `quote venue-${q.venue}` },
    el("strong", { text: q.venue }), ` ${amountOf(q.amountOut, tokenOut)}`,
    el("span", { class: "muted",
                 text: ` (fee ${amountOf(q.fee, tokenIn)}, impact ${impactPercent(q.priceImpactBps)})` })));
  for (const f of route.failedVenues || []) {
    nodes.push(el("div", { class: "quote failed", text: `${f.venue}: ${f.reason}` }));
  }
  return nodes;
}

function notesText(v) {
  const notes = v.retries.map((r) => `attempt ${r.attempt} failed (${r.reason}), retried after ${r.delayMs} ms`);
  if (v.requeued) notes.unshift(`re-queued by an operator after: ${v.requeued}`);
  if (v.error) notes.push(`failed: ${v.error}`);
  return notes.join("; ");
}

function renderRow(row, v) {
  row.dataset.status = v.status;
  row.dataset.seqs = v.seqs.join(",");
  if (v.dex) row.dataset.dex = v.dex;
  const tokenIn = v.tokenIn || "", tokenOut = v.tokenOut || "";
  setCell(row, "order", orderLabel(v), v.orderId);
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
  setCell(row, "notes", notesText(v));
  // "accepted": submit answered, the pending event not here yet; rebuilt only when it changes, to keep focus
  const cancellable = String(state.cancellable.has(v.status) || v.status === "accepted");
  const actions = row.querySelector('[data-cell="actions"]');
  if (actions.dataset.cancellable !== cancellable) {
    actions.dataset.cancellable = cancellable;
    actions.replaceChildren(...(cancellable === "true" ? [cancelButton(v.orderId)] : []));
  }
}
