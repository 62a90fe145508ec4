"""Territory Planner: the domain layer (no Streamlit here).

Everything the dashboard and the CLI do goes through this package: the store, the CRM importer,
the propensity model, territory metrics, the optimizer and the territory plan.
"""

__version__ = "0.1.0"
