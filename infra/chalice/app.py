"""The engine as a chalice app: the same HTTP routes, WebSocket handlers and executor schedule as template.yaml,
calling the same handlers. Chalice deploys HTTP routes as a REST API (payload 1.0), so each request is translated
into the HTTP API event the handler takes; tests/infra/test_deploy_routes.py keeps the routes equal to the
template's. Package it with `infra/chalice/package`."""
from chalice import AuthResponse, Chalice, Rate

from chalicelib import handlers, http_events, ws_events
from order_engine.api.authorizer import verdict
from order_engine.api.entry import lambda_entry
from order_engine.api.http import create_app
from order_engine.api.page import page_router
from order_engine.api.routes import operator_router, orders_router, submit_router, web_router

app = Chalice(app_name="order-engine")
app.experimental_feature_flags.update(["WEBSOCKETS"])

http_handler = lambda_entry(create_app(submit_router, orders_router, operator_router, web_router,
                                       page_router(handlers.WEB_STATIC)))
ANY_CONTENT = ["*/*"]  # the handler answers a non-JSON body with 415 in the API's error shape, not chalice's


@app.authorizer(ttl_seconds=0, header="Authorization")
def api_key(auth_request):
    """template.yaml's HTTP authorizer on chalice's REST API: a TOKEN authorizer, so only `Authorization: Bearer`
    (not x-api-key) and a request without it is API Gateway's own 401. The verdict travels in the context, and the
    handler answers a bad key with the 401 in the error shape, as on the HTTP API."""
    context = verdict({"authorization": auth_request.token or ""})
    return AuthResponse(routes=["*"], principal_id=context.get("clientId") or "anonymous", context=context)


def _serve():
    event = http_events.to_http_api_event(app.current_request.to_original_event())
    return http_events.to_chalice_response(http_handler(event, app.lambda_context))


@app.route("/api/orders/execute", methods=["POST"], authorizer=api_key, content_types=ANY_CONTENT)
def execute_order():
    return _serve()


@app.route("/api/orders/history", methods=["GET"], authorizer=api_key)
def order_history():
    return _serve()


@app.route("/api/orders/{orderId}", methods=["GET", "DELETE"], authorizer=api_key)
def get_order(orderId):  # noqa: N803 - chalice passes the path parameter by its name
    return _serve()


@app.route("/api/quote", methods=["GET"])
def quote():
    return _serve()


@app.route("/api/health", methods=["GET"])
def health():
    return _serve()


@app.route("/api/queue", methods=["GET"], authorizer=api_key)
def queue():
    return _serve()


@app.route("/api/openapi.json", methods=["GET"])
def openapi():
    return _serve()


@app.route("/api/docs", methods=["GET"])
def docs():
    return _serve()


@app.route("/", methods=["GET"])
def page():
    return _serve()


@app.route("/assets/{name}", methods=["GET"])
def asset(name):
    return _serve()


@app.route("/assets/js/{module}", methods=["GET"])
def script_module(module):
    return _serve()


@app.route("/api/config", methods=["GET"])
def client_config():
    return _serve()


@app.route("/api/operator/dead-letters", methods=["GET"], authorizer=api_key)
def dead_letters():
    return _serve()


@app.route("/api/operator/orders/{orderId}/retry", methods=["POST"], authorizer=api_key, content_types=ANY_CONTENT)
def retry_order(orderId):  # noqa: N803 - chalice passes the path parameter by its name
    return _serve()


@app.route("/api/operator/listings", methods=["GET", "POST"], authorizer=api_key, content_types=ANY_CONTENT)
def listings():
    return _serve()


@app.on_ws_connect()
def ws_connect(event):
    return ws_events.on_connect(event.to_dict(), event.context)


@app.on_ws_message()
def ws_message(event):
    return ws_events.on_message(event.to_dict(), event.context)


@app.on_ws_disconnect()
def ws_disconnect(event):
    return ws_events.on_disconnect(event.to_dict(), event.context)


@app.lambda_function(name="ws-replay")  # invoked asynchronously by $connect (WS_REPLAY_FUNCTION_NAME)
def ws_replay(event, context):
    return ws_events.replay(event, context)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="executor")
def executor(event):
    return handlers.executor.handler(event.to_dict(), event.context)
