"""GET /api/orders/{orderId}, DELETE /api/orders/{orderId}, /api/orders/history, /api/quote, /api/health,
/api/queue, /api/openapi.json, /api/docs; the operator's GET /api/operator/dead-letters, POST
/api/operator/orders/{orderId}/retry and GET/POST /api/operator/listings"""
from order_engine.api.entry import lambda_entry
from order_engine.api.http import create_app
from order_engine.api.routes import operator_router, orders_router

app = create_app(orders_router, operator_router)
handler = lambda_entry(app)
