// The header's API-key field: what is typed there is the key every API call and the WebSocket carry, kept for
// this tab (session storage). A 401 empties it and asks for a key in words beside it.

import { KEY_REFUSED, storeApiKey, storedApiKey } from "./api.js";
import { $ } from "./dom.js";

const REFUSED = "The engine refused that API key (401): enter a valid one.";
const NEEDED = "This engine needs an API key: enter yours here (./local/up prints one).";

function askForKey({ hadKey }) {
  const input = $("#api-key");
  const message = $("#key-message");
  input.value = "";
  input.setAttribute("aria-invalid", "true");
  // the calls still in flight without a key answer 401 too: they must not hide why the key went
  if (hadKey || !message.textContent) message.textContent = hadKey ? REFUSED : NEEDED;
}

// `onKeyChanged` runs after a key is entered (or emptied), to load again what the page shows.
export function setupKeyField(onKeyChanged) {
  const input = $("#api-key");
  input.value = storedApiKey() || "";
  document.addEventListener(KEY_REFUSED, (event) => askForKey(event.detail));
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    input.value = key;
    storeApiKey(key || null);
    input.removeAttribute("aria-invalid");
    $("#key-message").textContent = "";
    onKeyChanged();
  });
}
