"""POST /api/orders/execute"""
from order_engine.api.entry import lambda_entry
from order_engine.api.http import create_app
from order_engine.api.routes import submit_router

app = create_app(submit_router)
handler = lambda_entry(app)
