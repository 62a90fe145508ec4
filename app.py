"""Territory Planner dashboard: routing only. Run with `streamlit run app.py`.

`streamlit run` finds `app` below and serves this script through it (st.App), so every request passes the media
guard first: with sign-in configured, a download is only for the signed-in user it was made for (ui/media_guard.py).
Each run of the script itself is `__main__`.
"""

from __future__ import annotations

import streamlit as st

from ui import media_guard, shell

if __name__ == "__main__":
    shell.main()
else:
    app = st.App(__file__, middleware=media_guard.middleware())
