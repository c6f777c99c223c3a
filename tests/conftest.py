"""EDGEMINING_EAGER_TASKS=1 runs every async test on a loop with eager tasks, as the console's loop is
on Python 3.12+ (Textual's App.run_async sets asyncio.eager_task_factory; its run_test, which the
pilot tests use, does not). Unset, the loop is asyncio's default, as the headless owner's is."""
from __future__ import annotations

import asyncio
import os

import pytest


class _EagerPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        return loop


def pytest_configure(config) -> None:
    if os.environ.get("EDGEMINING_EAGER_TASKS") != "1":
        return
    if not hasattr(asyncio, "eager_task_factory"):
        raise SystemExit("EDGEMINING_EAGER_TASKS=1: eager tasks exist from Python 3.12")
    asyncio.set_event_loop_policy(_EagerPolicy())


def pytest_report_header(config) -> str | None:
    if os.environ.get("EDGEMINING_EAGER_TASKS") == "1":
        return "asyncio: eager task factory on every test loop (as the console on 3.12+)"
    return None


@pytest.fixture(params=["default", "eager"])
async def task_factory(request):
    """Each check runs on the default factory (headless) and on the console's eager one."""
    loop = asyncio.get_running_loop()
    before = loop.get_task_factory()
    if request.param == "eager":
        eager = getattr(asyncio, "eager_task_factory", None)
        if eager is None:
            pytest.skip("eager tasks (what Textual turns on in the console) exist from Python 3.12")
        loop.set_task_factory(eager)
    try:
        yield request.param
    finally:
        loop.set_task_factory(before)
