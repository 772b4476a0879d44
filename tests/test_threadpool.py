"""Blocking sync code never stalls a core: `def` endpoints and dependencies move to the shared
thread pool once a call blocks ("auto"), or always ("threadpool"); the pool queues, keeps
context variables, reports errors as inline code does, and shutdown waits for it.

The assertions are about order and counts (which request finished first, how many ran at once),
never about how long something took."""

from __future__ import annotations

import concurrent.futures
import signal
import threading

import httpx
import pytest

MODULE = "tests.apps.blocking"


def _get(server, path: str, **kwargs: object) -> httpx.Response:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.get(path, **kwargs)  # type: ignore[arg-type]


def _quick_requests_finish_first(server, blocking_path: str) -> bool:  # type: ignore[no-untyped-def]
    """Starts a blocking request, then quick ones on other connections: do they all finish
    before the blocking one?"""
    order: list[str] = []
    lock = threading.Lock()

    def run(name: str, path: str) -> None:
        _get(server, path).raise_for_status()
        with lock:
            order.append(name)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        slow = pool.submit(run, "slow", blocking_path)
        started = threading.Event()
        # The quick requests go once the blocking one is surely in the server.
        started.wait(0.3)
        quick = [pool.submit(run, f"quick{i}", "/hello") for i in range(5)]
        for future in [slow, *quick]:
            future.result()
    return order.index("slow") == len(order) - 1


@pytest.mark.parametrize("attr", ["plain", "app"], ids=["rust-path", "solver-path"])
def test_auto_moves_a_blocking_endpoint_to_the_pool(serve_app, attr: str) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, attr)
    # The first blocking call runs inline and is seen to block; from then on it is pooled.
    assert _get(server, "/block", params={"seconds": 0.05}).json()["slept"] == 0.05
    assert _quick_requests_finish_first(server, "/block?seconds=1.5")


def test_threadpool_mode_never_blocks_the_core(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain", sync_mode="threadpool")
    assert _quick_requests_finish_first(server, "/block?seconds=1.5")


@pytest.mark.parametrize(("mode", "on_core"), [("inline", True), ("threadpool", False)])
def test_modes_decide_where_the_endpoint_runs(serve_app, mode: str, on_core: bool) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain", sync_mode=mode)
    for _ in range(3):
        assert _get(server, "/block", params={"seconds": 0.01}).json()["on_core"] is on_core


def test_auto_brings_a_fast_endpoint_back_inline(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain")
    assert _get(server, "/block", params={"seconds": 0.05}).json()["on_core"] is True
    assert _get(server, "/block", params={"seconds": 0}).json()["on_core"] is False
    # After a streak of fast calls in the pool it runs inline again (a busy machine may break a
    # streak now and then: allow many calls, expect the move back).
    places = []
    while True not in places and len(places) < 300:
        places.append(_get(server, "/block", params={"seconds": 0}).json()["on_core"])
    assert places[-1] is True and False in places


def test_saturated_pool_queues_and_drops_nothing(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain", sync_mode="threadpool", threadpool_size=2)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _get(server, "/block", params={"seconds": 0.2}), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    stats = _get(server, "/stats").json()
    assert stats["most_at_once"] == 2


def test_context_variables_reach_the_pool(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "app", sync_mode="threadpool")
    headers = {"x-request-id": "abc-123"}
    assert _get(server, "/block", params={"seconds": 0.01}, headers=headers).json()["request_id"] == "abc-123"
    assert _get(server, "/with-dependency", headers=headers).json() == {"session": "session", "request_id": "abc-123"}
    assert _get(server, "/helper", headers=headers).json() == {"value": "abc-123"}


@pytest.mark.parametrize("mode", ["threadpool", "inline"])
def test_an_exception_in_the_pool_is_a_logged_500(serve_app, mode: str) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain", sync_mode=mode)
    answer = _get(server, "/fail")
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    assert "failed in a sync endpoint" in server.log()
    assert _get(server, "/hello").status_code == 200


def test_sync_streaming_body_runs_in_the_pool(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain", sync_mode="threadpool")
    assert _get(server, "/stream").text == "chunk 0\nchunk 1\nchunk 2\n"
    assert _quick_requests_finish_first(server, "/stream?seconds=0.6")


def test_graceful_shutdown_waits_for_pool_work(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app(MODULE, "plain", sync_mode="threadpool")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_get, server, "/block", params={"seconds": 1.0})
        threading.Event().wait(0.3)
        server.proc.send_signal(signal.SIGTERM)
        assert pending.result().json()["slept"] == 1.0
    assert server.proc.wait(10) == 0


def test_same_answers_as_fastapi(serve_app, serve_fastapi) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = serve_app(MODULE), serve_fastapi(MODULE)
    # (`/block` says where it ran: FastAPI always runs `def` endpoints in its pool.)
    for path in ("/hello", "/with-dependency", "/stream", "/helper", "/fail"):
        mine, reference = _get(ours, path), _get(theirs, path)
        assert (mine.status_code, mine.headers.get("content-type"), mine.content) == (
            reference.status_code,
            reference.headers.get("content-type"),
            reference.content,
        ), path
