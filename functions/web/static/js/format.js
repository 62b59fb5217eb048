// How amounts, ids, times, swaps and routes read on the page.

import { state } from "./state.js";

export function tokenOf(symbolOrMint) {
  return state.tokensBySymbol.get(symbolOrMint) || state.tokensByMint.get(symbolOrMint) || null;
}

export function formatUnits(raw, decimals, maxFraction = 6) {
  if (raw === null || raw === undefined || raw === "") return "";
  let value;
  try { value = BigInt(raw); } catch (err) { return String(raw); }
  const negative = value < 0n;
  if (negative) value = -value;
  const scale = 10n ** BigInt(decimals);
  const whole = value / scale;
  const fraction = (value % scale).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  return (negative ? "-" : "") + whole.toLocaleString("en-US") + (fraction ? "." + fraction : "");
}

export function amountOf(raw, symbol) {
  const token = tokenOf(symbol);
  return token ? `${formatUnits(raw, token.decimals)} ${token.symbol}` : String(raw ?? "");
}

export const shortId = (id) => (id ? id.slice(0, 8) : "");
export const shortSig = (sig) => (sig ? `${sig.slice(0, 6)}…${sig.slice(-4)}` : "");

export function timeOf(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
}

export function dateTimeOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso || "") : d.toLocaleString([], { hour12: false });
}

export const clockNow = () => new Date().toLocaleTimeString([], { hour12: false });


// A limit order says its limit and expiry beside the swap, a sniper order its max price.
export function swapText(order) {
  const swap = `${order.amount} ${order.tokenIn} → ${order.tokenOut}`;
  const until = order.expiresAt ? ` until ${dateTimeOf(order.expiresAt)}` : "";
  if (order.type === "sniper" && order.maxPrice) {
    return `${swap} · snipe at listing, ≤ ${order.maxPrice} ${order.tokenIn}/${order.tokenOut}${until}`;
  }
  if (order.type !== "limit" || !order.limitPrice) return swap;
  return `${swap} · limit ≥ ${order.limitPrice} ${order.tokenOut}/${order.tokenIn}${until}`;
}

export function chosenVenue(route) {
  const legs = route.legs || [];
  return legs.length > 1 ? "split " + legs.map((l) => `${l.percent}% ${l.venue}`).join(" + ")
    : (route.dex || legs[0]?.venue || "");
}

export function routeText(route) {
  return route ? chosenVenue(route) + (route.reason ? `: ${route.reason}` : "") : "";
}

export const impactPercent = (bps) => `${(bps / 100).toFixed(2)}%`;
