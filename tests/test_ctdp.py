"""The commercial territory design instances of Ríos-Mercado's group (#15 point 3): real files read, the
published solution recomputed, and the product optimizer keeping all three activities within tau."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import ctdp
from planner.optimize import Options, contiguity, rebalance


@pytest.fixture(scope="module")
def inst() -> ctdp.Instance:
    return ctdp.parse(ctdp.FOLDER / "2DU60-05-1.dat")


@pytest.fixture(scope="module")
def pub() -> ctdp.Published:
    return ctdp.parse_published(ctdp.FOLDER / "published" / "2DU60-05-1.out")


def test_the_vendored_file_reads_as_documented(inst: ctdp.Instance) -> None:
    assert inst.xy.shape == (60, 2) and inst.activity.shape == (60, 3) and inst.edges.shape == (103, 2)
    assert (inst.p, inst.second, inst.taus, inst.seed) == (4, 4, (0.003, 0.05, 0.05), 1221226888)
    # The first and last unit lines and the last edge, as written in the file (CRLF line ends).
    assert inst.xy[0].tolist() == [386.287514, 334.241104] and inst.activity[0].tolist() == [864, 2839, 2901]
    assert inst.xy[59].tolist() == [129.0903, 120.666337] and inst.activity[59].tolist() == [856, 2761, 2670]
    assert inst.edges[-1].tolist() == [53, 57]
    for name in ctdp.INSTANCES:  # every vendored file parses, with p territories below n units
        other = ctdp.parse(ctdp.FOLDER / f"{name}.dat")
        assert 1 < other.p < len(other.xy) and other.edges.max() < len(other.xy)


def test_a_malformed_file_is_refused_with_its_line(tmp_path: Path) -> None:
    good = (ctdp.FOLDER / "2DU60-05-1.dat").read_text(encoding="ascii").splitlines()
    bad = tmp_path / "bad.dat"
    for lines, message in (
        ([*good[:5], "4 12.5 80.0 850", *good[6:]], "bad line 6: expected 6 numbers, found 4"),  # unit 4
        ([*good[:62], "0 x", *good[63:]], "bad line 63: '0 x' is not 2 numbers"),  # the first edge
        (good[:40], "bad: the file ends early"),
    ):
        bad.write_text("\n".join(lines), encoding="ascii")
        with pytest.raises(ValueError, match=message):
            ctdp.parse(bad)


def test_the_published_solution_recomputes_to_its_stated_sum(inst: ctdp.Instance, pub: ctdp.Published) -> None:
    owner = np.full(60, -1)
    for r, units in enumerate(pub.territories):
        owner[units] = r
    assert (owner >= 0).all() and len(pub.territories) == inst.p
    m = ctdp.measures(inst, owner, np.array(pub.centres))
    assert m["sum_distance"] == pytest.approx(pub.compactness, abs=0.01)  # 5305.57 in DF-CTDP's data.txt
    assert m["connected_territories"] == 4 and ctdp.within(m)


def test_the_product_keeps_every_activity_within_tau(inst: ctdp.Instance, pub: ctdp.Published) -> None:
    """Through the travel-matrix path with the published centres: every activity of every territory
    within 5% of its mean, and no more total distance than the published ALNS solution (here it finds
    that very solution: 5,305.57)."""
    centres = np.array(pub.centres)
    owner, info = ctdp.solve(inst, centres)
    m = ctdp.measures(inst, owner, centres)
    for col in ctdp.ACTIVITIES:
        assert m[f"dev_{col}"] <= ctdp.TAU + 1e-9
    assert m["sum_distance"] <= pub.compactness + 0.01
    assert info["lp_bound_mean"] * 60 <= m["sum_distance"] + 1e-6  # the LP bound is a lower bound
    assert np.bincount(owner, minlength=4).min() > 0


def test_contiguous_territories_under_the_files_adjacency_keep_every_activity_within_tau(
    inst: ctdp.Instance, pub: ctdp.Published
) -> None:
    """`balance --contiguous --adjacency FILE` as the bench runs it: each basic unit its own area, the file's
    103 pairs as the adjacency. Every territory is one piece under the file's list, every activity within tau."""
    centres = np.array(pub.centres)
    owner, _ = ctdp.solve(inst, centres, contiguous=True)
    m = ctdp.measures(inst, owner, centres)
    assert m["connected_territories"] == inst.p
    assert ctdp.within(m), m


def test_the_band_restoration_is_what_keeps_tau_once_territories_are_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    """On 2DU120-05-1 joining the product's territories under the file's adjacency pushes activities 6.5-8%
    off their mean; the restoration (boundary moves and swaps that keep both territories connected) brings
    every one back within tau, and every territory stays connected under the file."""
    inst = ctdp.parse(ctdp.FOLDER / "2DU120-05-1.dat")
    centres = np.array(ctdp.parse_published(ctdp.FOLDER / "published" / "2DU120-05-1.out").centres)
    acc, reps, dist = ctdp.frames(inst, centres)
    opts = Options(metric=",".join(f"column:{c}" for c in ctdp.ACTIVITIES), tolerance=ctdp.TAU, compactness=1.0,
                   unit="county", contiguous=True, adjacency=ctdp.file_adjacency(inst))  # fmt: skip
    s = rebalance(acc, reps, opts, distance=dist).summary
    assert s["contiguous"] and s["tolerance_met"] and s["contiguity_units_moved"] > 0 and s["contiguity_band_moves"] > 0
    assert max(m["largest_deviation"] for m in s["metrics"]) <= ctdp.TAU + 1e-9
    assert not s["contiguity_stopped_by_time"]
    # Out of time at once (its share of the time limit spent): no restoration, still one piece each, said.
    monkeypatch.setattr(contiguity, "CONTIGUITY_TIME_SHARE", 0.0)
    late = rebalance(acc, reps, opts, distance=dist).summary
    assert late["contiguity_stopped_by_time"] and late["contiguity_band_moves"] == 0
    assert late["contiguous"] and not late["tolerance_met"]
    monkeypatch.setattr(contiguity, "restore_bands", lambda p, u, assign, edges, island, deadline, left: (assign, 0))
    monkeypatch.setattr(contiguity, "CONTIGUITY_TIME_SHARE", 0.25)
    joined_only = rebalance(acc, reps, opts, distance=dist).summary
    assert joined_only["contiguous"] and not joined_only["tolerance_met"]
    assert max(m["largest_deviation"] for m in joined_only["metrics"]) > 0.06


def test_cli_refuses_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctdp.main(["nonsense"]) == ctdp.USAGE_ERROR
    assert capsys.readouterr().err.startswith("error: unknown arguments 'nonsense'")
    assert ctdp.main(["table", "/nonexistent/c.jsonl"]) == ctdp.USAGE_ERROR
    assert "give the JSON lines file a run wrote" in capsys.readouterr().err
