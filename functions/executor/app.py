"""The executor: fired by the EventBridge schedule and by submit's wake-up; drains the queue until shortly before
its timeout or until the queue stays idle."""
from order_engine import bootstrap
from order_engine.api.telemetry import log_library_through_powertools, logger, tracer
from order_engine.config import settings

log_library_through_powertools()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    summary = bootstrap.run_executor(settings(), context.get_remaining_time_in_millis, event.get("slot"))
    tracer.put_annotation(key="orders_claimed", value=summary.claimed)
    logger.info("executor run finished", extra={"summary": summary.to_dict(), "trigger": event.get("source")})
    return summary.to_dict()
