"""Territory Planner dashboard: routing only. Run with `streamlit run app.py`."""

from __future__ import annotations

from ui import shell

if __name__ == "__main__":
    shell.main()
