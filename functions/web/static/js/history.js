// History: the client's orders newest first, paged by cursor and filtered by status and token; each row opens its
// timeline. historyRow is also the operator search's row.

import { api } from "./api.js";
import { cancelButton } from "./cancel-button.js";
import { rememberPrices } from "./chart.js";
import { $, el, openOnActivate, orderLabel, statusBadge } from "./dom.js";
import { amountOf, dateTimeOf, shortId, swapText } from "./format.js";
import { retryButton } from "./retry-button.js";
import { state } from "./state.js";
import { openTimeline } from "./timeline.js";

const PAGE_SIZE = "20";

export async function loadHistory(reset) {
  const error = $("#history-error");
  error.textContent = "";
  if (reset) {
    state.history.cursor = null;
    $("#history-rows").replaceChildren();
  }
  const params = new URLSearchParams({ limit: PAGE_SIZE });
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

function actionsCell(order, row) {
  const actions = el("td", { "data-label": "" });
  if (order.status === "failed") actions.append(retryButton(order.orderId));
  if (state.cancellable.has(order.status)) {
    actions.append(cancelButton(order.orderId, (cancelled) => {
      row.dataset.status = cancelled.status;
      row.querySelector('[data-label="Status"]').replaceChildren(...statusBadge(cancelled.status, cancelled.attempts));
    }));
  }
  return actions;
}

export function historyRow(order) {
  const row = el("tr", { "data-order-id": order.orderId, "data-status": order.status, class: "order-row",
                         tabindex: "0", "aria-label": `Order ${shortId(order.orderId)}: open its timeline` });
  const cells = [
    ["Created", dateTimeOf(order.createdAt)],
    ["Order", orderLabel(order)],
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
  row.append(actionsCell(order, row));
  openOnActivate(row, order.orderId, openTimeline);
  return row;
}

export function setupHistory() {
  const option = (value) => el("option", { value, text: value });
  $("#history-status").append(...state.config.lifecycle.statuses.map(option));
  $("#history-token").append(...state.config.tokens.map((t) => option(t.symbol)));
  $("#history-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.history.filters = { status: $("#history-status").value, token: $("#history-token").value };
    loadHistory(true);
  });
  $("#history-more").addEventListener("click", () => loadHistory(false));
}
