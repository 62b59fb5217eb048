// The tracking page and operator panel. It talks only to the public API: HTTP paths relative to where the page is
// served (so a stage prefix such as /prod works) and the WebSocket URL that GET api/config names.

import { api } from "./api.js";
import { setupChart } from "./chart.js";
import { showConnection } from "./connection.js";
import { setupForms } from "./forms.js";
import { loadHistory, setupHistory } from "./history.js";
import { setupKeyField } from "./key-field.js";
import { track } from "./live.js";
import { loadDeadLetters, refreshCounts, setupOperator } from "./operator.js";
import { applyConfig, state } from "./state.js";
import { live } from "./ws.js";

const SUBSCRIBE_PUMP_MS = 1000; // re-sends subscribes whose acknowledgement never came

function loadPanels() {
  loadHistory(true);
  refreshCounts();
  loadDeadLetters();
}

async function start() {
  try {
    applyConfig(await api("api/config"));
  } catch (err) {
    showConnection("down", `Cannot load the configuration: ${err.message}`);
    return;
  }
  setupKeyField(() => {
    live.reconnect();
    loadPanels();
  });
  setupForms();
  setupHistory();
  setupOperator();
  setupChart();
  live.connect();
  loadPanels();
  setInterval(live.pump, SUBSCRIBE_PUMP_MS);
}

window.orderPage = { state, track, live }; // for the console (and the browser tests' load check)
start(); // a module runs once the document is parsed, as a deferred script does
