// The header's connection indicator: connecting, live or down, and what the page is doing about it.

import { $ } from "./dom.js";

export function showConnection(kind, text) {
  $("#connection").dataset.state = kind;
  $("#connection-text").textContent = text;
}
