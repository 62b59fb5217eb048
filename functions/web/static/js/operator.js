// The operator panel: the queue's and the lifecycle's counts refreshed every 2 s (with a pause), the dead letters
// with a retry button, and search by order id or client order id.

import { api } from "./api.js";
import { $, el } from "./dom.js";
import { clockNow, dateTimeOf, shortId } from "./format.js";
import { historyRow } from "./history.js";
import { ORDER_REQUEUED, retryButton } from "./retry-button.js";
import { state } from "./state.js";

const COUNT_REFRESH_MS = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function refreshCounts() {
  if (state.countsPaused || document.hidden) return;
  try {
    const counts = await api("api/queue");
    for (const node of document.querySelectorAll("[data-count]")) {
      const value = String(counts[node.dataset.count] ?? "–");
      if (node.textContent !== value) node.textContent = value;
    }
    $("#counts-updated").textContent = `Queue counts at ${clockNow()}`;
    if (counts.deadLettered !== state.lastDeadLettered) {
      state.lastDeadLettered = counts.deadLettered;
      loadDeadLetters();
    }
  } catch (err) {
    $("#counts-updated").textContent = `Queue counts unavailable: ${err.message}`;
  }
}

function deadLetterItem(entry) {
  const item = el("li", { "data-order-id": entry.orderId || "" },
    el("span", { class: "mono", text: entry.orderId ? shortId(entry.orderId) : entry.entry }),
    el("span", { text: ` ${entry.reason}` }),
    el("span", { class: "muted", text: ` ${dateTimeOf(entry.at)}` }));
  if (entry.orderId && entry.retryable) item.append(" ", retryButton(entry.orderId));
  return item;
}

export async function loadDeadLetters() {
  try {
    const page = await api("api/operator/dead-letters?limit=50");
    $("#dead-letters").replaceChildren(...page.deadLetters.map(deadLetterItem));
    $("#dead-empty").hidden = page.deadLetters.length > 0;
  } catch (err) {
    $("#operator-error").textContent = err.message;
  }
}

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
    results.append(el("div", { class: "table-wrap" }, table));
  } catch (err) {
    error.textContent = err.message;
  }
}

function togglePause(event) {
  state.countsPaused = !state.countsPaused;
  event.currentTarget.setAttribute("aria-pressed", String(state.countsPaused));
  event.currentTarget.textContent = state.countsPaused ? "Resume refresh" : "Pause refresh";
  if (!state.countsPaused) refreshCounts();
}

export function setupOperator() {
  $("#search-form").addEventListener("submit", search);
  $("#counts-pause").addEventListener("click", togglePause);
  document.addEventListener(ORDER_REQUEUED, loadDeadLetters);
  setInterval(refreshCounts, COUNT_REFRESH_MS);
}
