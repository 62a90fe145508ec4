"""Helpers for driving pages with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def page(name: str, timeout: float = 60) -> AppTest:
    """An AppTest of app.py switched to pages/<name>.py, so routing and the sidebar run too."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if name != "overview":
        at.switch_page(f"pages/{name}.py")
        at.run()
    return at


def errors(at: AppTest) -> list[str]:
    """Exceptions and st.error texts shown on the page."""
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
