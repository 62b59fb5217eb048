// Small DOM helpers, and what every view shows of an order the same way: its label and status badge.

import { shortId } from "./format.js";

export const $ = (selector, root = document) => root.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function statusBadge(status, attempt) {
  const badge = el("span", { class: `badge status-${status}`, text: status });
  return attempt && attempt > 1 ? [badge, " ", el("span", { class: "muted attempt", text: `attempt ${attempt}` })]
    : [badge];
}

// The id's first 8 characters, and the client's own reference on a line of its own.
export function orderLabel(order) {
  const id = el("span", { class: "order-id", text: shortId(order.orderId) });
  return order.clientOrderId ? [id, " ", el("span", { class: "reference", text: order.clientOrderId })] : [id];
}

// Opens `open(orderId)` on a click (not on one of the row's buttons) or Enter/Space on the focused row.
export function openOnActivate(row, orderId, open) {
  row.addEventListener("click", (event) => { if (!event.target.closest("button")) open(orderId); });
  row.addEventListener("keydown", (event) => {
    if (event.target === row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      open(orderId);
    }
  });
}
