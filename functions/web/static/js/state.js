// The page's one mutable state. Modules read and change it here and keep none of their own, so what the page
// knows is in one place (and on the console as window.orderPage.state).

export const state = {
  config: null, // GET api/config, before any order is shown
  terminal: new Set(), // the lifecycle's finished statuses (from the config, the lifecycle's one source)
  cancellable: new Set(), // the statuses DELETE api/orders/{id} cancels from (not yet routing)
  tokensByMint: new Map(),
  tokensBySymbol: new Map(),

  orders: new Map(), // orderId -> tracked order of the live section: {orderId, events: seq -> event, summary, row}
  dirty: new Set(), // orderIds whose live row is redrawn in the next animation frame
  frameRequested: false,
  chartDirty: false,
  prices: new Map(), // orderId -> {pair, dex, price, at}: the chart's points, from live rows and history

  socket: {
    ws: null,
    attempt: 0, // reconnects since the last open: the backoff's exponent
    pingTimer: null,
    reconnectTimer: null,
    waiting: [], // order ids to subscribe, in order
    outstanding: new Map(), // order id -> when its subscribe was sent, until its acknowledgement
  },

  history: { cursor: null, filters: {} },
  countsPaused: false,
  lastDeadLettered: null, // the dead-letter count the list was last loaded at
  quote: null, // the quote the page shows (GET api/quote), until executed
  stats: { events: 0, flushes: 0, rowUpdates: 0, longestFlushMs: 0 }, // how well the batching keeps up
};

export function applyConfig(config) {
  state.config = config;
  state.terminal = new Set(config.lifecycle.terminal);
  state.cancellable = new Set(config.lifecycle.cancellable);
  for (const token of config.tokens) {
    state.tokensBySymbol.set(token.symbol, token);
    state.tokensByMint.set(token.mint, token);
  }
}
