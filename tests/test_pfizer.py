"""The Pfizer Turkey instance (#15 point 4): read through the travel-matrix path, published figures reproduced."""

from __future__ import annotations

import pytest

from bench import pfizer


@pytest.fixture(scope="module")
def inst() -> pfizer.Instance:
    return pfizer.load()


def test_instance_reads_through_the_matrix_path(inst: pfizer.Instance) -> None:
    assert inst.km.shape == (22, 4) and inst.km.attrs["unit"] == "km"
    assert inst.accounts["potential"].sum() == pytest.approx(4.0, abs=1e-9)
    # Each rep's office is its centre brick: 0 km.
    for rep, brick in [("SR1", "B4"), ("SR2", "B14"), ("SR3", "B16"), ("SR4", "B22")]:
        assert inst.km.loc[brick, rep] == 0


def test_existing_assignment_is_the_published_187_41_km(inst: pfizer.Instance) -> None:
    assert round(pfizer.total_km(inst, inst.accounts["owner_rep_id"]), 2) == pfizer.PUBLISHED_EXISTING_KM


def test_exact_optimum_is_the_published_154_60_km(inst: pfizer.Instance) -> None:
    km, owner = pfizer.exact_mip(inst)
    assert round(km, 2) == pfizer.PUBLISHED_OPTIMUM_KM
    assert round(pfizer.total_km(inst, owner), 2) == pfizer.PUBLISHED_OPTIMUM_KM
    load = pfizer.workloads(inst, owner)
    assert load.between(0.8 - 1e-9, 1.2 + 1e-9).all()
    # A tighter band cannot do better (the optimum is a true optimum of the stated band).
    tight, _ = pfizer.exact_mip(inst, (0.9, 1.1))
    assert tight >= km - 1e-9
    assert load.min() == pytest.approx(0.803, abs=5e-4) and load.max() == pytest.approx(1.115, abs=5e-4)  # as published


def test_the_product_optimizer_on_the_matrix_reproduces_154_60_km(inst: pfizer.Instance) -> None:
    """The product's optimizer (LP over all reps + fix-and-resolve rounding, a small rounding MIP solved to
    optimality) on the travel matrix reaches the published optimum, within the band; its LP bound is a true
    lower bound of it."""
    res = pfizer.solve_product(inst)
    km = pfizer.total_km(inst, res.assignments["owner"])
    assert round(km, 2) == pfizer.PUBLISHED_OPTIMUM_KM
    assert res.summary["travel_km_after"] * 22 == pytest.approx(km, rel=1e-9)  # the summary speaks the matrix
    assert res.summary["travel_km_lp_bound"] * 22 <= pfizer.PUBLISHED_OPTIMUM_KM + 1e-6
    assert pfizer.workloads(inst, res.assignments["owner"]).between(0.8 - 1e-9, 1.2 + 1e-9).all()
    today = pfizer.total_km(inst, inst.accounts["owner_rep_id"])
    assert res.summary["travel_km_today"] * 22 == pytest.approx(today, rel=1e-9)
