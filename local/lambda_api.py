"""The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) in Lambda's wire format, so boto3's
`lambda.invoke` works unchanged with AWS_ENDPOINT_URL_LAMBDA pointing here.

`GET /local/functions` (not an AWS API) shows each function's pool: workers, in flight, queued, counters; the stack adds
`POST /local/websocket/restart?downSeconds=` (neither) to drop every WebSocket client for a while.
"""
from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web

from local.runtime import FunctionError, FunctionNotFound, Runtime, TooManyRequests


def _error(status: int, error_type: str, message: str, request_id: str, **extra: Any) -> web.Response:
    body = {"Type": "User", "message": message, **extra}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json",
                        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": request_id})


def create_lambda_app(runtime: Runtime) -> web.Application:
    async def invoke(request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        name = request.match_info["name"]
        try:
            pool = runtime.pool(name)
        except FunctionNotFound:
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}", request_id)
        raw = await request.read()
        try:
            event = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            return _error(400, "InvalidRequestContentException",
                          f"Could not parse request body into json: {exc}", request_id)
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        common = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
        if invocation_type == "DryRun":
            return web.Response(status=204, headers=common)
        if invocation_type == "Event":
            pool.invoke_async(event)
            return web.Response(status=202, headers=common)
        if invocation_type != "RequestResponse":
            return _error(400, "InvalidParameterValueException",
                          f"Unsupported invocation type {invocation_type}", request_id)
        try:
            result = await pool.invoke(event, request_id=request_id)
        except TooManyRequests:
            return _error(429, "TooManyRequestsException", "Rate Exceeded.", request_id,
                          Reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        except FunctionError as exc:
            return web.Response(status=200, body=orjson.dumps(exc.payload), content_type="application/json",
                                headers={**common, "X-Amz-Function-Error": "Unhandled"})
        return web.Response(status=200, body=orjson.dumps(result), content_type="application/json", headers=common)

    async def functions(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(runtime.stats()), content_type="application/json")

    app = web.Application(client_max_size=6 * 1024 * 1024)  # Lambda's synchronous payload limit
    app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
    app.router.add_get("/local/functions", functions)
    return app
