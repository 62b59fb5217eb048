"""GET /api/orders/{orderId}, /api/orders/history, /api/health, /api/queue, /api/openapi.json, /api/docs"""
from order_engine.api.http import create_app, lambda_entry
from order_engine.api.routes import orders_router

app = create_app(orders_router)
handler = lambda_entry(app)
