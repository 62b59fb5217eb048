// The submit form: a market, limit or sniper order, or a quote to preview and execute. The API's validation
// errors are shown under the field their `details` name.

import { api } from "./api.js";
import { $, el } from "./dom.js";
import { amountOf } from "./format.js";
import { track } from "./live.js";
import { state } from "./state.js";
import { live } from "./ws.js";

const WHOLE_NUMBER = /^-?\d+$/;
// sent as a number when it is one, else as typed, so the API names what is wrong with it
const numberOrText = (text) => (WHOLE_NUMBER.test(text) ? Number(text) : text);

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

function orderBody(form) {
  const body = { tokenIn: form.tokenIn.value, tokenOut: form.tokenOut.value, amount: form.amount.value.trim() };
  const type = form.type.value;
  if (type === "limit" || type === "sniper") { // bounded by its own price: no slippage
    body.type = type;
    if (type === "limit") body.limitPrice = form.limitPrice.value.trim();
    else body.maxPrice = form.maxPrice.value.trim();
    body.ttlSeconds = numberOrText(form.ttlSeconds.value.trim());
  } else {
    const slippage = form.slippageBps.value.trim();
    if (slippage !== "") body.slippageBps = numberOrText(slippage);
  }
  if (form.clientOrderId.value.trim()) body.clientOrderId = form.clientOrderId.value.trim();
  return body;
}

async function submitOrder(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = orderBody(form);
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

// limit and sniper orders: a price and an expiry, no slippage
function showFieldsOfType(type) {
  const shown = (field) => (field.classList.contains("limit-only") && type === "limit")
    || (field.classList.contains("sniper-only") && type === "sniper");
  for (const field of document.querySelectorAll("#order-form .limit-only, #order-form .sniper-only")) {
    field.hidden = !shown(field);
  }
  for (const field of document.querySelectorAll("#order-form .market-only")) field.hidden = type !== "market";
}

function quoteQuery(form) {
  const fields = { tokenIn: form.tokenIn.value, tokenOut: form.tokenOut.value, amount: form.amount.value.trim() };
  const slippage = form.slippageBps.value.trim();
  if (slippage !== "") fields.slippageBps = slippage;
  return new URLSearchParams(fields);
}

function showQuote(quote) {
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
}

async function getQuote() {
  const form = $("#order-form");
  clearErrors(form);
  const panel = $("#quote");
  try {
    state.quote = await api(`api/quote?${quoteQuery(form)}`);
    showQuote(state.quote);
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

export function setupForms() {
  const symbols = state.config.tokens.map((t) => t.symbol);
  const options = () => symbols.map((s) => el("option", { value: s, text: s }));
  $("#tokenIn").replaceChildren(...options());
  $("#tokenOut").replaceChildren(...options());
  $("#tokenOut").value = symbols.find((s) => s !== $("#tokenIn").value) || symbols[0];
  $("#slippageBps").value = String(state.config.defaultSlippageBps);
  $("#order-form").addEventListener("submit", submitOrder);
  $("#orderType").addEventListener("change", (event) => showFieldsOfType(event.target.value));
  $("#get-quote").addEventListener("click", getQuote);
  $("#execute-quote").addEventListener("click", executeQuote);
}
