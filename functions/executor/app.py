"""The executor: fired by the EventBridge schedule and by submit's wake-up; drains the queue until shortly before
its timeout or until the queue stays idle."""
from aws_lambda_powertools import Logger

from order_engine import bootstrap
from order_engine.config import settings

logger = Logger()


@logger.inject_lambda_context
def handler(event, context):
    summary = bootstrap.run_executor(settings(), context.get_remaining_time_in_millis, event.get("slot"))
    logger.info("executor run finished", extra={"summary": summary.to_dict(), "trigger": event.get("source")})
    return summary.to_dict()
