// An operator's retry of a failed or dead-lettered order: it is queued again from pending and followed live. The
// ORDER_REQUEUED event on document lets the dead-letter list reload.

import { api } from "./api.js";
import { el } from "./dom.js";
import { shortId } from "./format.js";
import { retrack } from "./live.js";
import { live } from "./ws.js";

export const ORDER_REQUEUED = "orderpage:order-requeued";

export function retryButton(orderId) {
  const button = el("button", { type: "button", class: "retry", "data-retry": orderId,
                                "aria-label": `Retry order ${shortId(orderId)}`, text: "Retry" });
  button.addEventListener("click", () => retryOrder(orderId, button));
  return button;
}

async function retryOrder(orderId, button) {
  const error = document.querySelector("#operator-error");
  error.textContent = "";
  button.disabled = true;
  try {
    const { order = {} } = await api(`api/operator/orders/${encodeURIComponent(orderId)}/retry`, { method: "POST" });
    retrack({ orderId, status: order.status, tokenIn: order.tokenIn, tokenOut: order.tokenOut, amount: order.amount,
              clientOrderId: order.clientOrderId || undefined });
    live.subscribe(orderId);
    button.textContent = "Re-queued";
    document.dispatchEvent(new CustomEvent(ORDER_REQUEUED, { detail: { orderId } }));
  } catch (err) {
    error.textContent = err.message;
    button.disabled = false;
  }
}
