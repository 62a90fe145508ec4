"""The Streamlit side: store access with caching, the shared sidebar, URL-backed widgets.

Only this package and pages/ import streamlit; planner/ never does.
"""
