// The chart of executed prices by venue for one pair: an SVG the page draws from the confirmed orders it knows
// (live rows and history pages).

import { $, el } from "./dom.js";
import { derive } from "./orders.js";
import { state } from "./state.js";

const VENUE_COLOURS = { raydium: "#7c3aed", meteora: "#ea580c", split: "#0891b2" };
const SVG_NS = "http://www.w3.org/2000/svg";
const HEIGHT = 220;
const PAD = { l: 64, r: 12, t: 12, b: 24 };
const MAX_POINTS = 200;

export function rememberPrices(orders) {
  for (const o of orders) {
    if (o.status === "confirmed" && o.executedPrice) {
      state.prices.set(o.orderId, { pair: `${o.tokenIn}/${o.tokenOut}`, dex: o.dex, price: Number(o.executedPrice),
                                    at: Date.parse(o.completedAt || o.updatedAt) });
    }
  }
  drawChart();
}

function rememberLivePrices() {
  for (const order of state.orders.values()) {
    const v = derive(order);
    if (v.status === "confirmed" && v.executedPrice) {
      state.prices.set(order.orderId, { pair: `${v.tokenIn}/${v.tokenOut}`, dex: v.dex,
                                        price: Number(v.executedPrice), at: Date.parse(v.completedAt) || Date.now() });
    }
  }
}

// the pair select follows the pairs seen, keeping the user's choice (SOL/USDC first time)
function syncPairs(select) {
  const pairs = [...new Set([...state.prices.values()].map((p) => p.pair))].sort();
  if (pairs.join() === [...select.options].map((o) => o.value).join()) return;
  const chosen = select.value;
  select.replaceChildren(...pairs.map((p) => el("option", { value: p, text: p.replace("/", " → ") })));
  select.value = pairs.includes(chosen) ? chosen : (pairs.includes("SOL/USDC") ? "SOL/USDC" : pairs[0] || "");
}

function svgNode(tag, attrs, text) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

export function drawChart() {
  rememberLivePrices();
  const select = $("#chart-pair");
  syncPairs(select);
  const points = [...state.prices.values()].filter((p) => p.pair === select.value).sort((a, b) => a.at - b.at)
    .slice(-MAX_POINTS);
  const svg = $("#chart");
  // drawn in CSS pixels of its current width, so text and dots keep their size at any width
  const W = Math.max(280, Math.round(svg.getBoundingClientRect().width) || 640), H = HEIGHT;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
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
    svgNode("line", { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: "axis" }),
    svgNode("line", { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: "axis" }),
    svgNode("text", { x: PAD.l - 6, y: y(hi) + 4, "text-anchor": "end", class: "tick" }, hi.toPrecision(6)),
    svgNode("text", { x: PAD.l - 6, y: y(lo) + 4, "text-anchor": "end", class: "tick" }, lo.toPrecision(6)),
    svgNode("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end", class: "tick" }, "older → newer"),
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
      children.push(svgNode("polyline", { points: pts.map(([px, py]) => `${px},${py}`).join(" "), fill: "none",
                                          stroke: VENUE_COLOURS[venue], "stroke-width": 1.5, "stroke-opacity": 0.5 }));
    }
    for (const [px, py, p] of pts) {
      const dot = svgNode("circle", { cx: px, cy: py, r: 3.5, fill: VENUE_COLOURS[venue], "data-venue": venue });
      dot.append(svgNode("title", {}, `${p.dex}: ${p.price}`));
      children.push(dot);
    }
    children.push(svgNode("circle", { cx: legendX, cy: PAD.t + 6, r: 4, fill: VENUE_COLOURS[venue] }));
    children.push(svgNode("text", { x: legendX + 8, y: PAD.t + 10, class: "legend" }, venue));
    legendX += 90;
  }
  svg.replaceChildren(...children);
  const venues = [...byVenue].map(([venue, pts]) => `${venue} ${pts.length}`).join(", ");
  const [base, quote] = select.value.split("/");
  caption.textContent = `${points.length} confirmed ${base} → ${quote} orders (${venues}); `
    + `price in ${quote} per ${base}.`;
}

export function setupChart() {
  $("#chart-pair").addEventListener("change", drawChart);
  // drawn at the width it has, so a rotated phone or a resized window draws it again
  new ResizeObserver(drawChart).observe($("#chart"));
}
