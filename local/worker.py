"""One Lambda execution environment: a process that imports one function's handler and serves its invocations.

Started by local/runtime/environment.py with one end of a Unix socket pair (`--fd`). Frames both ways are a 4-byte big-endian
length followed by JSON. After start-up it sends {"ready": true} (or the init error, which Lambda reports on every
invocation); then for each {"requestId", "event", "deadlineMs", ...} it answers {"ok": true, "result": ...} or
{"ok": false, "error": {"errorMessage", "errorType", "stackTrace"}}. One invocation at a time, as in Lambda.

The function's CodeUri goes first on sys.path (Lambda's /var/task), so each process imports only its own `app`.
This file imports nothing from the project, so the function sees a clean module namespace.
"""
from __future__ import annotations

import argparse
import decimal
import importlib
import os
import signal
import socket
import struct
import sys
import time
import traceback

import orjson

_HEADER = struct.Struct(">I")
_RECV_SIZE = 64 * 1024  # an event of up to this size usually arrives in one read (and stays below mmap sizes)


class LambdaContext:
    """The context object Lambda's Python runtime hands to a handler."""

    def __init__(self, request_id: str, deadline_ms: int, meta: dict):
        self.aws_request_id = request_id
        self.function_name = meta["functionName"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = meta["functionArn"]
        self.memory_limit_in_mb = str(meta["memorySize"])
        self.log_group_name = meta["logGroupName"]
        self.log_stream_name = meta["logStreamName"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _default(value):
    if isinstance(value, decimal.Decimal):  # as Lambda's runtime serialises a Decimal
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(exc: BaseException, error_type: str | None = None) -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": [f'  File "{f.filename}", line {f.lineno}, in {f.name}\n    {f.line}\n' for f in frames],
    }


class _Frames:
    """Reads the gateway's frames: one recv usually holds a whole frame, so most invocations cost one syscall."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def next(self) -> dict:
        buffer = self.buffer
        while len(buffer) < _HEADER.size:
            buffer = self._more(buffer)
        (size,) = _HEADER.unpack_from(buffer)
        end = _HEADER.size + size
        if len(buffer) < end:  # a large event: gather it in one growing buffer, not by concatenation
            gathered = bytearray(buffer)
            while len(gathered) < end:
                chunk = self.sock.recv(max(_RECV_SIZE, end - len(gathered)))
                if not chunk:
                    raise EOFError
                gathered += chunk
            buffer = gathered
        self.buffer = bytes(buffer[end:])
        return orjson.loads(memoryview(buffer)[_HEADER.size:end])

    def _more(self, buffer: bytes) -> bytes:
        chunk = self.sock.recv(_RECV_SIZE)
        if not chunk:
            raise EOFError
        return buffer + chunk if buffer else chunk


def _send(sock: socket.socket, message: dict) -> None:
    try:
        body = orjson.dumps(message, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        body = orjson.dumps({"ok": False, "error": {
            "errorMessage": f"Unable to marshal response: {exc}", "errorType": "Runtime.MarshalError",
            "requestId": message.get("requestId", ""), "stackTrace": []}})
    sock.sendall(_HEADER.pack(len(body)) + body)


def _load_handler(handler: str):
    module_name, _, attribute = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - reported to the caller exactly as Lambda does
        return None, _error(exc, "Runtime.ImportModuleError") | {
            "errorMessage": f"Unable to import module '{module_name}': {exc}"}
    function = getattr(module, attribute, None)
    if function is None:
        return None, {"errorMessage": f"Handler '{attribute}' missing on module '{module_name}'",
                      "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []}
    return function, None


def serve(sock: socket.socket, handler: str, meta: dict) -> None:
    function, init_error = _load_handler(handler)
    _send(sock, {"ready": init_error is None, "pid": os.getpid()})
    frames = _Frames(sock)
    while True:
        try:
            request = frames.next()
        except (EOFError, ConnectionError):
            return  # the gateway went away: so does this environment
        request_id = request["requestId"]
        os.environ["_X_AMZN_TRACE_ID"] = request.get("traceId", "")
        if init_error is not None:
            _send(sock, {"ok": False, "error": init_error | {"requestId": request_id}})
            continue
        context = LambdaContext(request_id, request["deadlineMs"], meta)
        try:
            result = function(request["event"], context)
        except Exception as exc:  # noqa: BLE001 - an unhandled error is the function's answer, not ours
            error = _error(exc) | {"requestId": request_id}
            print(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n{''.join(error['stackTrace'])}",
                  file=sys.stderr, flush=True)
            _send(sock, {"ok": False, "error": error})
            continue
        _send(sock, {"ok": True, "result": result})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--meta", required=True, help="JSON: functionName, functionArn, memorySize, log names")
    args = parser.parse_args()
    # Ctrl-C in the terminal reaches the whole process group; the stack stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.path[0] = args.code_dir  # replaces local/, which Python put there for this script
    os.chdir(args.code_dir)
    sock = socket.socket(fileno=args.fd)
    serve(sock, args.handler, orjson.loads(args.meta))


if __name__ == "__main__":
    main()
