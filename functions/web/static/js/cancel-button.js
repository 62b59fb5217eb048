// Cancel an order that has not started routing. A live row hears of its cancelled event over the WebSocket like
// every other step; a 409 (it started routing meanwhile) is shown, with the status the API names, under the
// button's table.

import { api } from "./api.js";
import { el } from "./dom.js";
import { shortId } from "./format.js";

export function cancelButton(orderId, onCancelled = () => {}) {
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
