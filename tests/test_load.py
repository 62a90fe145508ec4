"""The load generator (bench/load.py) keeps speaking Streamlit's protocol: a real server, one session,
two renders counted, no error frames; and the frames it must count as errors are counted."""

from __future__ import annotations

from pathlib import Path

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import load
from planner.store import core
from tests.helpers import run_async

WINDOW_S = 5.0  # the timed run's window: two sessions render without a pause through it (both cores busy)


async def _two_rounds(url: str) -> list[load.Render]:
    async with load.Session(0, 0, url) as session:
        renders = [await session.render(page) for page in load.PAGES * 2]
        assert set(session.page_hashes) >= set(load.PAGES)
        assert session.cached, "no large message was cached: the browser's message cache is not mimicked"
        return renders


def test_sessions_render_pages_without_errors(any_store: Path, tmp_path: Path) -> None:
    """One session, one process, two renders counted, on the file store and on a lake; then, on the file store, a
    session asks for pages by script hash after the first load, and the server runs the page it asked for, and a
    timed window."""
    file_store = not core.is_lake(any_store)
    with load.app_servers(str(any_store), 1, tmp_path / "logs") as urls:
        result = run_async(load.run_sessions(urls, 1, renders=2))
        # The session's bookkeeping (page hashes, the message cache) and the window's do not depend on the store:
        # both on the file store only (eight more renders, 4-6 CPU-s, and two sessions rendering without a pause for
        # 5 s, ~10 CPU-s). The lake's pages render in the session above and in test_lake_matrix (every page, as
        # admin and as a rep), and through the load balancer in test_lake_processes.
        renders = run_async(_two_rounds(urls[0])) if file_store else None
        # A window longer than a page's render time on a busy machine (1-3 s), so renders land in it.
        timed = run_async(load.run_sessions(urls, 2, duration_s=WINDOW_S, warmup_s=0.5)) if file_store else None
    assert result["renders"] == 2 and result["sessions"] == 1 and result["processes"] == 1
    assert result["by_page"] == {"overview": 1, "coverage": 1, "targets": 0, "rebalance": 0}
    assert result["renders_with_errors"] == 0, result["error_examples"]
    assert result["renders_per_s"] > 0 and 0 < result["p50_s"] <= result["p95_s"] <= result["max_s"]
    assert result["per_process"][0]["renders"] == 2
    assert "| file | 1 | 1 |" in load.markdown([{**result, "store": "file"}])
    assert "Traceback" not in (tmp_path / "logs" / "server-0.log").read_text()
    if renders is None or timed is None:
        return

    assert [r.page for r in renders] == ["overview", "coverage", "targets", "rebalance"] * 2
    assert all(r.status == "FINISHED_SUCCESSFULLY" and not r.errors for r in renders), [r.errors for r in renders]
    assert all(r.elements > 0 for r in renders)
    # The second visit of the map page gets references to what the session already holds: fewer bytes.
    assert renders[5].received_bytes < renders[1].received_bytes
    # A timed run opens its window once both sessions rendered once, and counts only what finished in it.
    assert timed["window_s"] == WINDOW_S and timed["ramp_s"] >= 0.5 and timed["renders_with_errors"] == 0
    assert timed["renders"] >= 1 and timed["renders_per_s"] == timed["renders"] / WINDOW_S
    # The servers' CPU time is read while the window is open: work was done, and at most what 2 cores give.
    assert timed["server_cpu_s"] > 0 and timed["cpu_s_per_render"] > 0 and 0 < timed["cores_per_process"] <= 2.5


def test_exceptions_and_error_boxes_count_as_errors() -> None:
    exception = ForwardMsg()
    exception.delta.new_element.exception.type = "ValueError"
    exception.delta.new_element.exception.message = "boom"
    alert = ForwardMsg()
    alert.delta.new_element.alert.body = "store unavailable"
    alert.delta.new_element.alert.format = Alert.ERROR
    warning = ForwardMsg()
    warning.delta.new_element.alert.body = "just a warning"
    warning.delta.new_element.alert.format = Alert.WARNING
    missing = ForwardMsg()
    missing.page_not_found.page_name = "nowhere"
    assert load._element_errors(exception) == ["exception ValueError: boom"]
    assert load._element_errors(alert) == ["st.error: store unavailable"]
    assert load._element_errors(warning) == []
    assert load._element_errors(missing) == ["page not found: nowhere"]


def test_summary_and_table_by_hand() -> None:
    renders = [load.Render(0, i % 2, "overview", 0.0, t, "FINISHED_SUCCESSFULLY") for i, t in enumerate([1, 2, 3, 4])]
    renders[3].errors.append("st.error: x")
    summary = load.summarize(renders, seconds=2.0)
    assert summary["renders"] == 4 and summary["renders_per_s"] == 2.0
    assert summary["p50_s"] == 2.5 and summary["max_s"] == 4
    assert summary["renders_with_errors"] == 1 and summary["error_examples"] == ["st.error: x"]
    assert load.percentile([], 95) is None and load.percentile([7.0], 95) == 7.0
    one = {"store": "file", "sessions": 10, "processes": 1, "renders_per_s": 2.0, "p50_s": 1.0, "p95_s": 2.0,
           "renders": 8, "renders_with_errors": 0, "per_process": [{"p50_s": 1.0, "p95_s": 2.0}]}  # fmt: skip
    two = {**one, "processes": 2, "renders_per_s": 3.0,
           "per_process": [{"p50_s": 1.0, "p95_s": 2.0}, {"p50_s": 1.5, "p95_s": 4.0}]}  # fmt: skip
    table = load.markdown([one, two])
    assert "| file | 10 | 2 | 3.0 | 1.0 s | 2.0 s | 1.0–1.5 s | 2.0–4.0 s | 8 (0) |" in table
    assert "file, 10 sessions: 1.50x" in table
