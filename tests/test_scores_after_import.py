"""Accounts imported after a model was trained: scored by it at once (or listed as not scored yet), and the
Model page and `planner model` say how much changed since the training and when to retrain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import cli, ingest, propensity, store, targets
from planner.propensity import registry
from planner.scope import OPERATOR, Scope
from planner.store import scores as q
from tests.helpers import errors, page, page_text


def import_scored(path: Path, files: list[Path]) -> ingest.ImportReport:
    """An import as the CLI and the Data page run it: the accounts it lands are scored after."""
    return ingest.import_files(path, files, scope=OPERATOR, after=propensity.score_new_accounts)


NEW = ["Zeta Robotics", "Omega Freight", "Kappa Labs"]
AVA = Scope(role="rep", rep_id="R001", user="ava.garcia@example.com")  # Ava Garcia owns R001's accounts
LIAM = Scope(role="rep", rep_id="R002", user="liam.cohen@example.com")


def _real(path: Path) -> Path:
    """The small store as a store of the company's own data (an import then adds to it; it replaces a demo)."""
    with store.write(path) as con:
        store.set_meta(con, "is_demo", "0")
    return path


def _new_accounts(tmp_path: Path) -> Path:
    f = tmp_path / "new_accounts.csv"
    f.write_text(
        "Account Name,City,State,Owner,Employees,Industry\n"
        "Zeta Robotics,Boston,MA,Ava Garcia,1500,Software\n"
        "Omega Freight,Chicago,IL,Ava Garcia,900,Logistics\n"
        "Kappa Labs,Austin,TX,Ava Garcia,700,Healthcare\n"
        "Lambda Mills,Denver,CO,Liam Cohen,400,Manufacturing\n"
    )
    return f


def _listed(path: Path, scope: Scope, rep_id: str | None = None) -> dict:
    with store.read(path) as con:
        return targets.targets(con, rep_id, scope=scope, limit=1000)


COLS = ["account_id", "propensity", "potential", "expected_value", "reasons", "similar_won", "nearest_won_km", "rank"]


def _scores(path: Path) -> pd.DataFrame:
    with store.read(path) as con:
        version = q.active_version(con)
        return store.query_df(con, f"SELECT {', '.join(COLS)} FROM scores WHERE model_version = ? ORDER BY 1",
                              [version])  # fmt: skip


def test_accounts_imported_after_training_are_scored_by_the_active_model(any_store: Path, tmp_path: Path) -> None:
    """Targets for a rep listed 5 of her 8 accounts: the 3 imported after training had no score. Now the import
    scores them with the active model, the same scores a full rescore gives them, and ranks the version anew."""
    path = _real(any_store)
    before = _listed(path, AVA, "R001")
    report = import_scored(path, [_new_accounts(tmp_path)])
    assert report.files[0].inserted == 4
    assert any("4 account(s) new or changed" in n and "model version" in n for n in report.notes), report.notes
    after = _listed(path, AVA, "R001")
    assert after["matches"] == before["matches"] + 3 and after["unscored"] == 0
    rows = after["rows"].set_index("name")
    assert set(NEW) <= set(rows.index) and "Lambda Mills" not in rows.index  # another rep's, out of her scope
    assert rows.loc[NEW, "scored"].all() and rows.loc[NEW, "propensity"].between(0, 1).all()
    assert rows.loc[NEW, "reasons"].str.len().gt(0).all()
    incremental = _scores(path)
    assert sorted(incremental["rank"]) == list(range(1, len(incremental) + 1))  # one store-wide ranking
    with store.write(path) as con:
        propensity.rescore(con, scope=OPERATOR)
    full = _scores(path)
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-9)


def test_an_import_with_no_model_lists_the_accounts_as_not_scored(empty_store: Path, tmp_path: Path) -> None:
    import_scored(empty_store, [_new_accounts(tmp_path)])
    out = _listed(empty_store, OPERATOR)
    assert out["matches"] == 4 and out["unscored"] == 4 and out["model_version"] is None
    assert not out["rows"]["scored"].any() and out["rows"]["rank"].isna().all()
    assert (out["rows"]["reasons"] == targets.NO_MODEL).all()  # no model at all: ranked by potential, says so
    assert out["rows"]["name"].tolist() == ["Zeta Robotics", "Omega Freight", "Kappa Labs", "Lambda Mills"]  # potential


def test_accounts_the_model_cannot_score_come_last_not_never(small_store: Path, tmp_path: Path) -> None:
    """The stored model cannot be read (or scoring fails): the import stands, its report says the new accounts
    are not scored yet, and Targets lists them after every scored account, not leaves them out."""
    path = _real(small_store)
    with store.write(path) as con:
        con.execute("UPDATE models SET blob = 'not a model'::BLOB")
    report = import_scored(path, [_new_accounts(tmp_path)])
    assert report.landed and any("could not be scored" in n and "listed last on Targets" in n for n in report.notes)
    out = _listed(path, AVA, "R001")
    rows = out["rows"]
    assert out["unscored"] == 3 and rows["name"].tail(3).tolist() == NEW  # last, by potential
    assert rows["scored"].head(len(rows) - 3).all() and not rows["scored"].tail(3).any()
    assert out["matches"] == len(rows)
    with store.read(path) as con:
        since = registry.since_training(con)
    assert since is not None and since["accounts_unscored"] == 4 and "no score from it yet" in since["note"]
    # A minimum propensity asks for scored accounts: those without a score are left out.
    with store.read(path) as con:
        assert not targets.targets(con, "R001", min_propensity=0.01, scope=AVA)["rows"]["name"].isin(NEW).any()


def test_since_training_counts_what_changed_and_suggests_a_retrain_past_a_tenth(small_store: Path,
                                                                                tmp_path: Path) -> None:  # fmt: skip
    path = _real(small_store)
    with store.read(path) as con:
        assert registry.since_training(con)["note"] is None  # type: ignore[index]
    import_scored(path, [_new_accounts(tmp_path)])
    with store.read(path) as con:
        s = registry.since_training(con)
    assert s is not None
    assert (s["accounts_added"], s["accounts_changed"], s["deals_changed"], s["accounts_unscored"]) == (4, 0, 0, 0)
    assert s["share_accounts"] == pytest.approx(4 / 600) and not s["retrain_suggested"]
    many = tmp_path / "many.csv"
    many.write_text("Account Name,City,State,Owner,Employees\n"
                    + "".join(f"Firm {i},Boston,MA,Ava Garcia,{100 + i}\n" for i in range(60)))  # fmt: skip
    import_scored(path, [many])
    with store.read(path) as con:
        s = registry.since_training(con)
    assert s is not None and s["accounts_added"] == 64 and s["retrain_suggested"]
    assert s["share_accounts"] >= registry.RETRAIN_SHARE and "retrain" in s["note"]


def test_a_rebalance_is_no_change_the_model_must_learn(small_store: Path) -> None:
    """Owners never feed the model: a committed rebalance's owner changes do not count as data changed."""
    from planner.store import scenarios as sq

    path = _real(small_store)
    with store.write(path) as con:
        ids = [r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY 1 LIMIT 100").fetchall()]
        moved = pd.DataFrame({"account_id": ids, "rep_id": "R002"})
        assert sq.apply_owners(con, moved, "scenario:1", scope=OPERATOR) > 0
        s = registry.since_training(con)
    assert s is not None and s["note"] is None and s["accounts_changed"] == 0 and s["deals_changed"] == 0


def test_model_command_says_what_changed_since_training(small_store: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = _real(small_store)
    import_scored(path, [_new_accounts(tmp_path)])
    capsys.readouterr()
    assert cli.main(["--db", str(path), "model", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accounts_added"] == 4 and out["retrain_suggested"] is False and out["retrain_share"] == 0.1
    assert cli.main(["--db", str(path), "model"]) == 0
    text = capsys.readouterr().out
    assert "4 account(s) added" in text and "scored with this version" in text


def test_model_page_says_data_changed_since_training(app_store: Path, tmp_path: Path) -> None:
    at = page("model")
    assert errors(at) == [] and "Data changed since" not in page_text(at)
    _real(app_store)
    import_scored(app_store, [_new_accounts(tmp_path)])
    at = page("model")
    assert errors(at) == []
    notes = [str(i.value) for i in at.info]
    assert any("Data changed since version" in n and "4 account(s) added" in n for n in notes), notes


def test_targets_page_lists_accounts_not_scored_yet_last(app_store: Path, tmp_path: Path) -> None:
    _real(app_store)
    with store.write(app_store) as con:
        con.execute("UPDATE models SET blob = 'not a model'::BLOB")
    import_scored(app_store, [_new_accounts(tmp_path)])
    at = page("targets", query={"rep": "R001"})
    assert errors(at) == []
    table = at.dataframe(key="tg_table").value
    assert table["name"].tail(3).tolist() == NEW and table["rank"].tail(3).isna().all()
    assert table["rank"].head(len(table) - 3).tolist() == list(range(1, len(table) - 2))
    assert any("3 matching account(s) are not scored yet" in str(w.value) for w in at.warning)


def _scored(path: Path, names: list[str]) -> int:
    with store.read(path) as con:
        return int(store.query_df(
            con, "SELECT count(*) AS n FROM scores s JOIN accounts a USING (account_id) WHERE s.model_version = ? "
            "AND list_contains(?, a.name)", [q.active_version(con), names])["n"][0])  # fmt: skip


def test_the_cli_import_scores_what_it_lands(small_store: Path, tmp_path: Path) -> None:
    path = _real(small_store)
    assert cli.main(["--db", str(path), "import", str(_new_accounts(tmp_path))]) == 0
    assert _scored(path, NEW) == 3


def test_the_data_page_import_scores_what_it_lands(app_store: Path, tmp_path: Path) -> None:
    path = _real(app_store)
    at = page("data")
    at.get("file_uploader")[0].set_value([("new.csv", _new_accounts(tmp_path).read_bytes(), "text/csv")])
    at.run().button(key="data_import").click().run()
    assert errors(at) == []
    assert _scored(path, NEW) == 3


def _pair_nearby(path: Path) -> tuple[str, str]:
    """Two accounts of one industry within 80 km of each other, the second without a won deal in the last six
    months (a win of its own then makes one more similar win near the first)."""
    with store.read(path) as con:
        acc = store.query_df(
            con,
            """SELECT a.account_id, a.industry, a.lat, a.lon,
                      EXISTS (SELECT 1 FROM deals d WHERE d.account_id = a.account_id AND d.is_won
                              AND d.close_date >= DATE '2026-11-01' - INTERVAL 190 DAY) AS won_lately
               FROM accounts a WHERE a.lat IS NOT NULL AND a.industry IS NOT NULL ORDER BY a.account_id""",
        )
    pairs = acc.merge(acc, on="industry", suffixes=("", "_y"))
    pairs = pairs[(pairs["account_id"] != pairs["account_id_y"]) & ~pairs["won_lately_y"]]
    lat, lat_y = np.radians(pairs["lat"]), np.radians(pairs["lat_y"])
    hav = (
        np.sin((lat_y - lat) / 2) ** 2
        + np.cos(lat) * np.cos(lat_y) * np.sin(np.radians(pairs["lon_y"] - pairs["lon"]) / 2) ** 2
    )
    close = pairs[2 * 6371.0 * np.arcsin(np.sqrt(hav)) < 80.0]
    assert len(close), "the small store has no two accounts of one industry within 80 km"
    return str(close["account_id"].iloc[0]), str(close["account_id_y"].iloc[0])


def test_a_won_deal_rescores_the_similar_accounts_nearby(small_store: Path, tmp_path: Path) -> None:
    """Importing a won deal for one account left its same-industry neighbour's score as it was (only accounts
    the import added or changed were scored), though the neighbour now has one more similar win nearby. Now
    the import scores every account again: the neighbour's count and score move, as a full rescore has them."""
    path = _real(small_store)
    near, winner = _pair_nearby(path)
    before = _scores(path).set_index("account_id")
    deal = tmp_path / "won.csv"
    deal.write_text("Opportunity ID,Account ID,Stage,Amount,Close Date,Created Date\n"
                    f"NEW-1,{winner},Closed Won,250000,2026-10-20,2026-08-01\n")  # fmt: skip
    report = import_scored(path, [deal])
    assert report.files[0].inserted == 1
    after = _scores(path).set_index("account_id")
    assert after.loc[near, "similar_won"] == before.loc[near, "similar_won"] + 1
    moved = after["propensity"].ne(before["propensity"]) | after["reasons"].ne(before["reasons"])
    assert moved.loc[near] and moved.drop([near, winner]).any()
    assert any("all 600 accounts were scored again" in n and "deals" in n for n in report.notes), report.notes
    with store.write(path) as con:
        propensity.rescore(con, scope=OPERATOR)
    pd.testing.assert_frame_equal(after.reset_index(), _scores(path), check_exact=False, rtol=1e-9)


def test_an_import_shows_the_rescoring_on_its_progress_bar(small_store: Path, tmp_path: Path) -> None:
    path = _real(small_store)
    _, winner = _pair_nearby(path)
    deal = tmp_path / "won.csv"
    deal.write_text(f"Opportunity ID,Account ID,Stage,Amount,Close Date\nNEW-2,{winner},Closed Lost,900,2026-10-02\n")
    seen: list[tuple[float, str]] = []
    ingest.import_files(path, [deal], scope=OPERATOR, after=propensity.score_new_accounts,
                        progress=lambda f, m: seen.append((f, m)))  # fmt: skip
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions), seen  # the bar never goes back
    assert any("Scoring 600 accounts with model version" in m for _, m in seen), seen
    assert seen[-1] == (1.0, "Done")


def test_rolling_back_scores_every_account_with_the_version(small_store: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Accounts imported after version 1 was trained had no score from it: rolling back to it listed them as
    not scored yet (and kept the others' scores from when it was last active). Now activating a version scores
    every account with it, as a full rescore does, and `planner model` says none is left unscored."""
    path = _real(small_store)
    with store.read(path) as con:
        first = q.active_version(con)
    with store.write(path) as con:
        second = propensity.train_and_score(con, created_by="test", scope=OPERATOR)["model_version"]
    import_scored(path, [_new_accounts(tmp_path)])  # scored by version 2 only
    propensity.activate(path, first, scope=OPERATOR, actor="test")
    with store.read(path) as con:
        assert q.active_version(con) == first != second
        listed = targets.targets(con, scope=OPERATOR, limit=1000)
    assert listed["matches"] == 604 and listed["unscored"] == 0
    assert set(NEW) <= set(listed["rows"]["name"]) and listed["rows"]["scored"].all()
    rolled = _scores(path)
    assert len(rolled) == 604 and sorted(rolled["rank"]) == list(range(1, 605))
    with store.write(path) as con:
        propensity.rescore(con, scope=OPERATOR)
    pd.testing.assert_frame_equal(rolled, _scores(path), check_exact=False, rtol=1e-9)
    capsys.readouterr()
    assert cli.main(["--db", str(path), "model", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model_version"] == first and out["accounts_unscored"] == 0
    assert "no score from it yet" not in (out["note"] or "")


def test_rolling_back_on_the_model_page_leaves_no_account_unscored(app_store: Path, tmp_path: Path) -> None:
    path = _real(app_store)
    with store.read(path) as con:
        first = q.active_version(con)
    at = page("model")
    at.button(key="md_retrain").click().run()
    import_scored(path, [_new_accounts(tmp_path)])
    at = page("model")
    at.selectbox(key="md_version").set_value(first)
    at.button(key="md_activate").click().run()
    assert errors(at) == []
    with store.read(path) as con:
        assert q.active_version(con) == first
        assert registry.since_training(con)["accounts_unscored"] == 0  # type: ignore[index]
    assert "no score from it yet" not in page_text(at)
    tg = page("targets", query={"rep": "R001"})
    assert errors(tg) == [] and not any("not scored yet" in str(w.value) for w in tg.warning)
    assert tg.dataframe(key="tg_table").value["rank"].notna().all()


def _owner_and_name_changes(path: Path, tmp_path: Path) -> Path:
    """A CRM re-export of 100 accounts: each renamed and handed to another rep, its facts as they were."""
    with store.read(path) as con:
        other_rep = "CASE WHEN a.owner_rep_id = 'R001' THEN 'R002' ELSE 'R001' END"
        rows = store.query_df(
            con,
            f"""SELECT a.account_id, a.name, r.name AS owner FROM accounts a JOIN reps r ON r.rep_id = {other_rep}
                ORDER BY 1 LIMIT 100""",
        )
    f = tmp_path / "renamed.csv"
    rows.assign(name=rows["name"] + " Holding").rename(
        columns={"account_id": "Account ID", "name": "Account Name", "owner": "Account Owner"}
    ).to_csv(f, index=False)
    return f


def test_owner_changes_and_renames_are_no_change_the_model_reads(small_store: Path, tmp_path: Path) -> None:
    """A weekly re-import moved 118 accounts back to their CRM owners and renamed 10: the Model page counted them
    as 46.8% of the accounts changed and asked for a retrain. The model reads neither owners nor names."""
    path = _real(small_store)
    report = import_scored(path, [_owner_and_name_changes(path, tmp_path)])
    assert report.files[0].updated == 100
    with store.read(path) as con:
        moved = store.scalar(con, "SELECT count(*) FROM accounts WHERE name LIKE '% Holding'")
        s = registry.since_training(con)
    assert moved == 100 and s is not None
    assert (s["accounts_added"], s["accounts_changed"], s["deals_changed"]) == (0, 0, 0), s
    assert s["note"] is None and not s["retrain_suggested"]


def test_a_deal_won_since_training_changes_its_account_and_a_feature_change_counts(small_store: Path,
                                                                                   tmp_path: Path) -> None:  # fmt: skip
    """Accounts that became customers through won deals were not counted (the import leaves the account row as
    it was): a won deal is a new label and changes its account's history, and a changed feature counts."""
    path = _real(small_store)
    with store.read(path) as con:
        open_deal = "SELECT deal_id, account_id FROM deals WHERE NOT is_closed ORDER BY deal_id LIMIT 1"
        deal, account = con.execute(open_deal).fetchone()
        other = store.scalar(con, "SELECT min(account_id) FROM accounts WHERE account_id <> ?", [account])
    won = tmp_path / "won.csv"
    won.write_text(f"Opportunity ID,Account ID,Stage,Amount,Close Date\n{deal},{account},Closed Won,25000,2026-01-15\n")
    grown = tmp_path / "grown.csv"
    grown.write_text(f"Account ID,Employees\n{other},123456\n")
    report = import_scored(path, [won, grown])
    assert report.landed
    with store.read(path) as con:
        s = registry.since_training(con)
        assert store.scalar(con, "SELECT is_won FROM deals WHERE deal_id = ?", [deal]) is True
    assert s is not None
    assert (s["accounts_added"], s["accounts_changed"], s["deals_changed"]) == (0, 2, 1), s
    assert "0 account(s) added, 2 changed and 1 deal(s)" in s["note"]
    with store.write(path) as con:  # a retraining starts the count again
        propensity.train_and_score(con, scope=OPERATOR)
        s = registry.since_training(con)
    assert s is not None and s["note"] is None
