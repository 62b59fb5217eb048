from order_engine_cli.main import run

run()
