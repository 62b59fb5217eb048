// A tracked order is its events by seq; derive() folds them, in seq order, into what a row shows (an event may
// overtake a replayed one by a few ms, and a replayed duplicate is the same seq).

export function derive(order) {
  const view = { ...order.summary, status: order.summary.status || "accepted", retries: [], steps: null };
  const seqs = [...order.events.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const e = order.events.get(seq);
    view.status = e.status;
    view.attempt = e.attempt;
    view.lastSeq = seq;
    if (e.status === "pending" && e.retriedBy) { // an operator started it over: what came before is history
      Object.assign(view, { retries: [], route: null, steps: null, txHash: null, minAmountOut: null, dex: null,
                            executedPrice: null, amountOut: null, error: null, failReason: null,
                            requeued: e.previous && e.previous.error });
    } else if (e.status === "routing" && e.retry) {
      view.retries.push({ attempt: e.retry.previousAttempt, reason: e.retry.reason, error: e.retry.error,
                          delayMs: e.retry.delayMs });
      view.txHash = null;
    } else if (e.status === "routing") {
      view.route = e;
    } else if (e.status === "building") {
      view.steps = e.steps || null;
      view.minAmountOut = e.minAmountOut;
      view.txHash = e.txHash || view.txHash;
    } else if (e.status === "submitted") {
      view.txHash = e.txHash || view.txHash;
    } else if (e.status === "confirmed") {
      const o = e.order || {};
      Object.assign(view, { dex: e.dex, txHash: e.txHash, executedPrice: e.executedPrice, amountOut: e.amountOut,
                            minAmountOut: o.minAmountOut ?? view.minAmountOut, completedAt: o.completedAt });
    } else if (e.status === "failed") {
      view.error = e.error;
      view.failReason = e.reason;
    }
  }
  view.seqs = seqs;
  return view;
}
