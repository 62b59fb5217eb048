"""Lambda execution emulation: a small pool of worker processes per function, invoked over Unix socket pairs.

Like Lambda, an invocation gets an execution environment of its own for its whole duration (one invocation per
process at a time), environments are created on demand up to the function's concurrency and kept warm, one that
exceeds its timeout is killed, and one that dies is replaced. A function with ReservedConcurrentExecutions never
runs more than that many at once: a synchronous invoke beyond it is throttled, an asynchronous one waits in the
function's queue until a slot frees. An asynchronous invocation that fails (an error, a crash, a timeout) is retried
twice, after the delays Lambda uses (one and two minutes by default), and an environment idle for longer than the
reaping time is stopped, as Lambda reclaims idle ones (down to the prewarmed count), so memory returns to baseline.
A worker's stdout is relayed line by line to the stack's (Lambda's goes to CloudWatch Logs), its EMF lines handed
to a metrics sink as well; its stderr is the stack's own.

One job per module: functions (the Runtime: every function's pool), pool (one function's environments),
environment (one worker process), framing (its socket's frames), async_invoke (the event queue and its retries),
reaper (idle reaping), log_relay (its stdout), invoke_errors, request_ids, function_stats. The worker process's
own main is local/worker.py.
"""
from local.runtime.functions import Runtime
from local.runtime.invoke_errors import FunctionCrashed, FunctionError, FunctionNotFound, InvokeError, TooManyRequests
from local.runtime.log_relay import relay_lines

__all__ = ["FunctionCrashed", "FunctionError", "FunctionNotFound", "InvokeError", "Runtime", "TooManyRequests",
           "relay_lines"]
