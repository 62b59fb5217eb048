// The WebSocket client: one connection, reconnected with backoff, resubscribing every unfinished order after each
// (the replay on subscribe fills whatever was missed while disconnected; duplicates are dropped by seq).

import { withApiKey } from "./api.js";
import { showConnection } from "./connection.js";
import { onStatusEvent } from "./live.js";
import { derive } from "./orders.js";
import { state } from "./state.js";

// Subscribes go out a few at a time and each waits for its "subscribed" acknowledgement: a burst of hundreds would
// queue behind each other in the subscribe function until API Gateway's 29 s integration timeout drops some of
// them (the client is told only "Internal server error"), so an unacknowledged subscribe is sent again.
const MAX_OUTSTANDING_SUBSCRIBES = 8;
const SUBSCRIBE_ACK_TIMEOUT_MS = 15000;
const PING_MS = 240000; // API Gateway closes a WebSocket idle for 10 minutes

const socket = state.socket;
const isFinished = (orderId) => {
  const order = state.orders.get(orderId);
  return Boolean(order) && state.terminal.has(derive(order).status);
};

function connect() {
  clearTimeout(socket.reconnectTimer);
  showConnection("connecting", socket.attempt ? "Reconnecting…" : "Connecting…");
  let ws;
  try {
    ws = new WebSocket(withApiKey(state.config.wsUrl));
  } catch (err) {
    scheduleReconnect();
    return;
  }
  socket.ws = ws;
  ws.onopen = () => {
    socket.attempt = 0;
    showConnection("live", "Live");
    socket.outstanding.clear();
    socket.waiting = [...state.orders.keys()].filter((orderId) => !isFinished(orderId));
    pump();
    clearInterval(socket.pingTimer);
    socket.pingTimer = setInterval(() => send({ action: "ping" }), PING_MS);
  };
  ws.onmessage = (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch (err) { return; }
    if (frame.type === "status") onStatusEvent(frame);
    else if (frame.type === "subscribed") acknowledged(frame.orderId);
    else if (frame.type === "error" && frame.orderId) acknowledged(frame.orderId);
  };
  ws.onclose = () => {
    if (socket.ws !== ws) return; // replaced on purpose (reconnect)
    clearInterval(socket.pingTimer);
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  socket.ws = null;
  socket.attempt += 1;
  const delay = Math.min(5000, 250 * 2 ** Math.min(socket.attempt, 5)) * (0.75 + Math.random() / 2);
  showConnection("down", `Disconnected; reconnecting in ${Math.ceil(delay / 1000)} s`);
  socket.reconnectTimer = setTimeout(connect, delay);
}

// Connect again now, with the key the page holds now (a new one typed in, say).
function reconnect() {
  const old = socket.ws;
  socket.ws = null; // its close is not a drop to recover from
  clearInterval(socket.pingTimer);
  if (old) old.close();
  socket.attempt = 0;
  connect();
}

function send(message) {
  if (!socket.ws || socket.ws.readyState !== WebSocket.OPEN) return false;
  socket.ws.send(JSON.stringify(message));
  return true;
}

function subscribe(orderId) {
  if (!socket.waiting.includes(orderId) && !socket.outstanding.has(orderId)) socket.waiting.push(orderId);
  pump();
}

function acknowledged(orderId) {
  socket.outstanding.delete(orderId);
  pump();
}

// Sends what is waiting, as far as the outstanding limit allows, and again what was never acknowledged.
function pump() {
  const now = Date.now();
  for (const [orderId, sentAt] of socket.outstanding) {
    if (now - sentAt > SUBSCRIBE_ACK_TIMEOUT_MS) {
      socket.outstanding.delete(orderId);
      socket.waiting.unshift(orderId);
    }
  }
  while (socket.outstanding.size < MAX_OUTSTANDING_SUBSCRIBES && socket.waiting.length) {
    const orderId = socket.waiting.shift();
    if (isFinished(orderId)) continue;
    if (!send({ action: "subscribe", orderId })) {
      socket.waiting.unshift(orderId); // not connected: onopen subscribes everything unfinished
      return;
    }
    socket.outstanding.set(orderId, now);
  }
}

export const live = { connect, reconnect, subscribe, pump };
