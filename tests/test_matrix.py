"""Never a crash (issue #14 point 7): every CLI command and every page on every odd store of tests/stores.py.

The stores: no reps; reps without homes; accounts without owners; no geography at all; deals only; no closed
deals; one rep; accounts outside the US only; the demo world plus one unowned account; the public CRM trio.
Each is built once per session (per xdist worker) and copied per test, so tests may write.

A command exits 0, or 2 with exactly one `error: ...` line where the input truly cannot work (a rep asked for
in a store with no reps, say): the allowed refusals are listed below with the words they must say. Never a
traceback, never exit 1 (a bug of ours). A page shows no exception and no raw nan/None, as an admin (open
local mode) and as a rep where the store has reps, and says so where something is missing.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner import cli, propensity, roles, store
from planner.scope import OPERATOR
from tests.helpers import AUTH, COMMANDS, PAGES, REP_PAGES, app_as, errors, page, page_text
from tests.stores import ODD_STORES, session_file

REP_EMAIL = "matrix.rep@example.com"


def _rep(path: Path) -> str:
    """The rep who owns the most accounts ('R001' when the store has no reps)."""
    with store.read(path) as con:
        row = con.execute(
            """SELECT r.rep_id FROM reps r LEFT JOIN accounts a ON a.owner_rep_id = r.rep_id
               GROUP BY r.rep_id ORDER BY count(a.account_id) DESC, r.rep_id LIMIT 1"""
        ).fetchone()
    return "R001" if row is None else str(row[0])


# Where the input truly cannot work: (store, command id) -> words the one error line must hold.
REFUSALS: dict[tuple[str, str], str] = {
    **{("no_reps", c): "no rep 'R001'" for c in ("metrics-rep", "rep-home")},
    **{("no_reps", c): "no reps left in the scenario"
       for c in ("balance-accounts", "balance", "balance-workload", "balance-expected-value")},
    # A deals file alone has no employees, so no potential, and its 2017 deals give no expected value.
    ("deals_only", "balance"): "metric 'potential' is zero for every account; pick another metric",
    ("deals_only", "balance-expected-value"): "metric 'expected_value' is zero for every account",
    ("no_closed_deals", "balance-expected-value"): "expected value is not available",
}  # fmt: skip


# `train --json` fits a model again only to print the same result as JSON: here `train` fits once, and its result
# must be what `train --json` prints (json.dumps, NaN refused), so that variant is not run on every store (it runs
# on the small store in test_propensity.py::test_train_and_score_cli).
# `score` on a store without a model fits one first: the very fit `train` makes (propensity.train_and_score, the
# same arguments). So `train` is followed by `score` on the same store (the active model's rescore and the CSV, on
# every store), and `score` on a store without a model runs on one store (SCORE_UNTRAINED): the other nine fits
# were the train case's fit made again.
# `plan --rep <busiest> --out plan.md` on every odd store is test_plan_stores.py::test_plan_cli_on_every_store,
# which checks what this matrix would (exit 0 or the one refusal line, no traceback, no raw nan/None/NaT) and the
# plan itself in five formats: not run twice.
MATRIX = [c for c, _ in COMMANDS if c not in ("train-json", "plan")]
SCORE_UNTRAINED = "crm_trio"
CASES = [(n, c) for n in ODD_STORES for c in MATRIX if c != "score" or n == SCORE_UNTRAINED]


def _run(name: str, command: str, path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run `command` of COMMANDS on the store at `path`: exit 0 with no error line, or exactly the REFUSALS line;
    never a traceback, and no raw nan/None/NaT printed."""
    argv = [a.format(rep=_rep(path), tmp=tmp_path) for a in dict(COMMANDS)[command]]
    code = cli.main(["--db", str(path), *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    refusal = REFUSALS.get((name, command))
    if refusal is None:
        assert code == 0, f"{name}: {' '.join(argv)} exited {code}: {err[-600:]}"
        assert lines == []
    else:
        assert code == 2, f"{name}: {' '.join(argv)} exited {code}: {err[-600:]}"
        assert len(lines) == 1 and refusal in lines[0], err
    assert "unexpected" not in err
    raw = re.findall(r"\b(?:nan|None|NaT)\b%?", out if "--json" not in argv else "")
    assert raw == [], f"{name}: {' '.join(argv)} printed {raw[:3]}: {out[-600:]}"


@pytest.mark.parametrize(("name", "command"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_every_command_on_every_store(
    name: str, command: str, odd_store_factory: Callable[[str], Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = odd_store_factory(name)
    trained: list[dict[str, Any]] = []
    fit = propensity.train_and_score

    def keep(*args: Any, **kwargs: Any) -> dict[str, Any]:
        trained.append(fit(*args, **kwargs))
        return trained[-1]

    monkeypatch.setattr(propensity, "train_and_score", keep)
    _run(name, command, path, tmp_path, capsys)
    if command == "score":  # a store without a model: score fitted one first
        assert len(trained) == 1
        _scores_csv(name, path, tmp_path)
    if command == "train":  # the model just trained, on the Model page (one fit serves the command and the page)
        assert len(trained) == 1 and json.loads(json.dumps(trained[0], allow_nan=False))["model_version"]
        _trained_model_card(name, path, monkeypatch)
        capsys.readouterr()  # AppTest's own log lines (a handler left on an earlier test's closed stream)
        _run(name, "score", path, tmp_path, capsys)  # the active model scores the store again, and the CSV
        assert len(trained) == 1, f"{name}: score fitted a model again"
        _scores_csv(name, path, tmp_path)


def _scores_csv(name: str, path: Path, tmp_path: Path) -> None:
    """score's CSV: one row per account of the store, ranked 1..n."""
    with store.read(path) as con:
        accounts = int(con.execute("SELECT count(*) FROM accounts").fetchone()[0])
    ranks = pd.read_csv(tmp_path / "scores.csv", encoding="utf-8-sig", usecols=["rank"])["rank"].tolist()
    assert ranks == list(range(1, accounts + 1)), f"{name}: {len(ranks)} scores for {accounts} accounts"


def _check(at: object, name: str, where: str) -> str:
    assert errors(at) == [], f"{name} {where}: {errors(at)}"  # type: ignore[arg-type]
    text = page_text(at)  # type: ignore[arg-type]
    for raw in ("Traceback", "nan%", "unexpected "):
        assert raw not in text, f"{name} {where}: {raw!r} shown"
    return text


@pytest.mark.parametrize("name_", PAGES)
@pytest.mark.parametrize("name", ODD_STORES)
def test_every_page_on_every_store_as_admin(
    name: str, name_: str, odd_store_factory: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = odd_store_factory(name)
    monkeypatch.setenv("PLANNER_DB", str(path))
    at = page(name_)
    text = _check(at, name, name_)
    _says_what_is_missing(text, name, name_, "admin")
    if name_ == "model" and name != "demo_plus_unowned":
        # Imported stores have no model yet: the page says so and offers to train one (the card of the model
        # trained then is read in test_every_command_on_every_store[<store>-train]).
        assert "No model has been trained in this store yet." in text


# Where something is missing, the page says what and what to do: (store, page, role) -> words.
HELPFUL: dict[tuple[str, str, str], str] = {
    **{("no_reps", n, "admin"): "**No reps yet**" for n in ("overview", "coverage", "rebalance", "plan")},
    ("demo_plus_unowned", "plan", "admin"): "Pick a rep under **Territory** in the sidebar",
    ("accounts_without_owners", "plan", "rep"): "No accounts are assigned to",
    **{(n, "targets", "admin"): "No scores yet: train the propensity model to rank the accounts"
       for n in ODD_STORES if n != "demo_plus_unowned"},
    # a rep cannot train: they are told who can, and how their plan ranks meanwhile
    **{(n, "targets", "rep"): "Ask your sales-ops lead or an admin to train it on the Model page"
       for n in ODD_STORES if n != "demo_plus_unowned"},
    # ...unless they have no accounts at all: that comes first, on every page
    ("accounts_without_owners", "targets", "rep"): "No accounts are assigned to you yet",
}  # fmt: skip


def _says_what_is_missing(text: str, name: str, name_: str, role: str) -> None:
    words = HELPFUL.get((name, name_, role))
    assert words is None or words in text, f"{name} {name_} as {role}: does not say {words!r}"


# What the Model page must say on a store once a model is trained (point 7: dropped features named,
# the fallback said).
MODEL_SAYS: dict[str, tuple[str, ...]] = {
    "deals_only": ("Not used in this store: Industry, Employees, Annual revenue", "Similar wins nearby"),
    "no_geography": ("Not used in this store:", "Similar wins nearby, 6 months"),
    "no_closed_deals": ("there are no closed deals yet", "ranked by the transparent fit score", "not used (too few"),
}


def _trained_model_card(name: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Model page as an admin once `train` ran: no error, version 1 (the demo store had one already), and
    what MODEL_SAYS for this store."""
    monkeypatch.setenv("PLANNER_DB", str(path))
    text = _check(page("model"), name, "model (trained)")
    assert ("version 2" if name == "demo_plus_unowned" else "version 1") in text, f"{name}: {text[:600]}"
    for words in MODEL_SAYS.get(name, ()):
        assert words in text, f"{name}: the Model page does not say {words!r}"


@pytest.fixture(scope="session")
def rep_store_templates(
    odd_store_templates: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """name -> that odd store with REP_EMAIL made a rep of its busiest rep, built once per run (a store write
    per test before): copy it, never write it."""

    def build(name: str, path: Path) -> None:
        shutil.copyfile(odd_store_templates(name), path)
        roles.set_role(path, REP_EMAIL, "rep", _rep(path), scope=OPERATOR)

    def template(name: str) -> Path:
        return session_file(tmp_path_factory, f"odd-{name}-matrix-rep.duckdb", lambda path: build(name, path))

    return template


@pytest.mark.parametrize("name_", REP_PAGES)
@pytest.mark.parametrize("name", [n for n in ODD_STORES if n != "no_reps"])
def test_every_page_on_every_store_as_a_rep(
    name: str, name_: str, rep_store_templates: Callable[[str], Path], tmp_path: Path,
    store_for_test: Callable[[Path, Path], Path], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = store_for_test(rep_store_templates(name), tmp_path / f"{name}.duckdb")
    rep = _rep(path)
    monkeypatch.setenv("PLANNER_DB", str(path))
    at = app_as(REP_EMAIL, secrets=AUTH, page=name_)
    text = _check(at, name, f"{name_} as rep {rep}")
    _says_what_is_missing(text, name, name_, "rep")
