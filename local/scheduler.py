"""EventBridge schedules for the local stack: each enabled Schedule event of the template invokes its function
asynchronously (as EventBridge does) with a scheduled-event payload. `LOCAL_SCHEDULE_SECONDS` replaces every
schedule's period with that many seconds, to run minute-long schedules faster locally.

On AWS the schedules never stop; a local stack does whenever it is stopped. So that a stack started again is where
a running one would be (an executor alive while work waits), it fires each rate schedule once at start-up
(`LOCAL_SCHEDULE_ON_START=no` turns that off)."""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from local.cloudformation import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.runtime import InvokeError, Runtime
from local.template import Schedule, Template

log = logging.getLogger("local.scheduler")

_RATE = re.compile(r"^rate\((\d+)\s+(second|minute|hour|day)s?\)$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of a `rate(...)` expression; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def _field_matches(spec: str, value: int, names: dict[str, int] | None = None) -> bool:
    for part in spec.split(","):
        part = part.strip().upper()
        if part in ("*", "?"):
            return True
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if names:
            for name, number in names.items():
                part = part.replace(name, str(number))
        if part in ("*", ""):
            low, high = 0, 10**6
        elif "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
        else:
            low = int(part.rstrip("L#W") or 0)
            high = low if step == 1 else 10**6
        if low <= value <= high and (value - low) % step == 0:
            return True
    return False


_DAYS = {n: i + 1 for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_MONTHS = {n: i + 1 for i, n in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}


def cron_matches(expression: str, at: datetime) -> bool:
    """EventBridge's six-field cron (minutes hours day-of-month month day-of-week year), evaluated in UTC for
    the common forms (*, ?, lists, ranges, steps, names); `L`/`W`/`#` modifiers are read as their day number."""
    fields = expression.strip()[len("cron("):-1].split()
    minute, hour, dom, month, dow, year = (fields + ["*"] * 6)[:6]
    weekday = (at.isoweekday() % 7) + 1  # EventBridge: 1 = Sunday
    return (_field_matches(minute, at.minute) and _field_matches(hour, at.hour)
            and _field_matches(dom, at.day) and _field_matches(month, at.month, _MONTHS)
            and _field_matches(dow, weekday, _DAYS) and _field_matches(year, at.year))


def scheduled_event(schedule: Schedule, stack_name: str, at: datetime) -> dict[str, Any]:
    if schedule.input is not None:
        return schedule.input if not isinstance(schedule.input, str) else _json_or_text(schedule.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": LOCAL_REGION,
        "resources": [f"arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:rule/{stack_name}-{schedule.name}"],
        "detail": {},
    }


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


class Scheduler:
    """Fires every enabled schedule of the template until stopped."""

    def __init__(self, runtime: Runtime, template: Template, override_seconds: float | None = None, *,
                 on_start: bool = False):
        self.runtime = runtime
        self.on_start = on_start
        self.template = template
        self.override_seconds = override_seconds
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        for schedule in self.template.schedules:
            if schedule.enabled:
                self._tasks.append(asyncio.ensure_future(self._run(schedule)))

    def describe(self) -> list[str]:
        out = []
        for s in self.template.schedules:
            every = f"every {self.override_seconds:g}s (LOCAL_SCHEDULE_SECONDS)" if self.override_seconds else s.expression
            out.append(f"{s.function}.{s.name}: {every}{'' if s.enabled else ' (disabled)'}")
        return out

    def _fire(self, schedule: Schedule) -> None:
        event = scheduled_event(schedule, self.template.stack_name, datetime.now(timezone.utc))
        try:
            self.runtime.invoke_async(schedule.function, event)
        except InvokeError:
            log.exception("schedule %s could not invoke %s", schedule.name, schedule.function)

    async def _run(self, schedule: Schedule) -> None:
        period = self.override_seconds or rate_seconds(schedule.expression)
        if period:
            if self.on_start:
                self._fire(schedule)
            while True:
                await asyncio.sleep(period)
                self._fire(schedule)
        if not schedule.expression.startswith("cron("):
            log.error("schedule %s: unsupported expression %r", schedule.name, schedule.expression)
            return
        while True:  # cron: wake at each minute boundary and test it
            now = datetime.now(timezone.utc)
            next_minute = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
            await asyncio.sleep((next_minute - now).total_seconds())
            if cron_matches(schedule.expression, next_minute):
                self._fire(schedule)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

