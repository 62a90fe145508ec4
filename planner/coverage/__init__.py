"""Coverage and balance of today's territories (the `balance` command runs the optimizer instead).

- workload: the one workload model and its assumptions (saved in the store, set on the Settings page)
- value: expected value = propensity x potential, with the one fallback when there is no model
- imbalance: max/mean, CV, Gini and Lorenz of per-territory figures
- facts: what coverage means, and the per-account facts every figure is aggregated from
- report: territory metrics, coverage and white space (Overview, Coverage, `planner metrics`)
- hexmap: the Coverage map's hexagons, outlines and homes
"""
