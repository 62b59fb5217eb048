// The timeline dialog: one order's every event, from GET api/orders/{id}.

import { api } from "./api.js";
import { $, el, statusBadge } from "./dom.js";
import { amountOf, impactPercent, routeText, swapText, timeOf } from "./format.js";

function describeEvent(e, order) {
  const parts = [];
  if (e.status === "routing" && e.retry) {
    parts.push(`retry after attempt ${e.retry.previousAttempt}: ${e.retry.error || e.retry.reason}`);
  } else if (e.status === "routing" && e.quotes) {
    parts.push(`route: ${routeText(e)}`);
    for (const q of e.quotes) {
      const out = amountOf(q.amountOut, order.tokenOut);
      parts.push(`${q.venue} quoted ${out} (impact ${impactPercent(q.priceImpactBps)})`);
    }
  }
  if (e.steps) parts.push(`steps: ${e.steps.join(" → ")}`);
  if (e.minAmountOut) parts.push(`minimum out ${amountOf(e.minAmountOut, order.tokenOut)}`);
  if (e.txHash) parts.push(`signature ${e.txHash}`);
  if (e.executedPrice) parts.push(`price ${e.executedPrice}`);
  if (e.amountOut) parts.push(`out ${amountOf(e.amountOut, order.tokenOut)}`);
  if (e.error && !e.retry) parts.push(`error: ${e.error}`);
  return parts.join("; ");
}

function outcome(order) {
  if (order.error) return `Failed: ${order.error}`;
  if (!order.amountOut) return "";
  return `Out ${amountOf(order.amountOut, order.tokenOut)} on ${order.dex} at ${order.executedPrice}`;
}

export async function openTimeline(orderId) {
  const dialog = $("#timeline");
  const summary = $("#timeline-summary");
  const list = $("#timeline-events");
  summary.textContent = "Loading…";
  list.replaceChildren();
  if (!dialog.open) dialog.showModal();
  try {
    const order = await api(`api/orders/${encodeURIComponent(orderId)}`);
    summary.replaceChildren(
      el("p", {}, el("strong", { text: swapText(order) }), " ", ...statusBadge(order.status, order.attempts)),
      el("p", { class: "mono", text: order.orderId }),
      el("p", { text: outcome(order) }));
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
