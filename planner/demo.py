"""The demo world: a realistic, deterministic US B2B world built offline from a seed.

One seed function (`build_world`) serves the embedded demo store, the tests' fixtures and the
benchmarks. Outcomes depend on firmographics, growth, intent, a new executive and a latent
affinity shared by accounts of the same industry in the same region, so that similarity to
recently won accounts carries signal; noise keeps it honest. The generator's true win
probability is kept (table demo_truth) so the model page can show the ceiling it could reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from planner import geo, plan, potential, propensity, store
from planner.errors import BadInput
from planner.scope import Scope, require_role
from planner.store import world as world_q
from planner.store.scenarios import audit

INDUSTRIES = pd.DataFrame(
    [
        # industry, share of accounts, median employees, revenue per employee, base log-odds, adoption
        ("Software", 0.14, 180, 260_000, 0.45, 0.55),
        ("Financial Services", 0.11, 320, 420_000, 0.20, 0.35),
        ("Healthcare", 0.12, 420, 150_000, -0.10, 0.18),
        ("Manufacturing", 0.15, 260, 210_000, -0.30, 0.12),
        ("Retail", 0.10, 350, 180_000, -0.45, 0.08),
        ("Professional Services", 0.12, 90, 160_000, 0.25, 0.45),
        ("Education", 0.06, 500, 90_000, -0.60, 0.10),
        ("Logistics", 0.07, 240, 230_000, -0.15, 0.15),
        ("Media", 0.05, 120, 200_000, 0.05, 0.30),
        ("Energy", 0.04, 600, 650_000, -0.25, 0.10),
        ("Telecommunications", 0.04, 700, 380_000, 0.00, 0.20),
    ],
    columns=["industry", "share", "median_employees", "revenue_per_employee", "base_logit", "adoption"],
)

# fmt: off
OPEN_STAGES = ["Qualification", "Discovery", "Proposal", "Negotiation"]
FIRST = ["Ava", "Liam", "Maya", "Noah", "Priya", "Ethan", "Sofia", "Mateo", "Grace", "Omar", "Chloe", "Lucas",
         "Hannah", "Diego", "Zoe", "Isaac", "Leah", "Jamal", "Nora", "Kenji", "Ruby", "Elena", "Marcus", "Aisha"]
LAST = ["Carter", "Nguyen", "Patel", "Garcia", "Kim", "Johnson", "Rossi", "Okafor", "Schmidt", "Silva", "Cohen",
        "Murphy", "Tanaka", "Lopez", "Brooks", "Novak", "Hughes", "Reyes", "Fischer", "Walsh", "Ali", "Baker"]
WORD_A = ["Blue", "North", "Summit", "Iron", "Bright", "Silver", "Granite", "Cedar", "Harbor", "Pioneer", "Apex",
          "Red Rock", "Prairie", "Lakeside", "Evergreen", "Keystone", "Golden", "Atlas", "Beacon", "Frontier",
          "Riverbend", "Clearwater", "Oakmont", "Sterling", "Cascade", "Meridian", "Vantage", "Union", "Liberty"]
WORD_B = {
    "Software": ["Analytics", "Cloud", "Labs", "Systems", "Data", "Networks"],
    "Financial Services": ["Capital", "Bancorp", "Financial", "Credit Union", "Advisors", "Trust"],
    "Healthcare": ["Health", "Medical Group", "Clinics", "Care", "Biotech", "Diagnostics"],
    "Manufacturing": ["Manufacturing", "Industries", "Components", "Fabrication", "Tooling", "Plastics"],
    "Retail": ["Outfitters", "Markets", "Goods", "Stores", "Supply", "Brands"],
    "Professional Services": ["Consulting", "Partners", "Legal", "Associates", "Advisory", "Group"],
    "Education": ["Academy", "College", "Learning", "School District", "University", "Institute"],
    "Logistics": ["Logistics", "Freight", "Transport", "Shipping", "Distribution", "Carriers"],
    "Media": ["Media", "Studios", "Publishing", "Broadcasting", "Creative", "Digital"],
    "Energy": ["Energy", "Power", "Solar", "Resources", "Utilities", "Petroleum"],
    "Telecommunications": ["Telecom", "Wireless", "Communications", "Broadband", "Fiber", "Connect"],
}
SUFFIX = ["Inc", "LLC", "Corp", "Co", "", "", "Holdings", "Group"]
# fmt: on

TODAY = date(2026, 11, 1)
TERRITORIES = ("states", "regions")
REGION_SPREAD = 0.25  # sigma of the lognormal drift of today's regional books around a fair share
PRICE_PER_USER = 600.0


@dataclass
class World:
    """Everything the demo store holds, as DataFrames in the store's column names."""

    accounts: pd.DataFrame
    deals: pd.DataFrame
    reps: pd.DataFrame
    truth: pd.DataFrame
    activities: pd.DataFrame
    today: date


Progress = Callable[[float, str], None]


def _noop(fraction: float, message: str) -> None:
    return None


@np.errstate(over="ignore")
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def zip_weights() -> pd.DataFrame:
    """ZIP centroids weighted toward populous metros: each city's people go to its nearest ZIPs."""
    zips = geo.zip_gazetteer()
    zips = zips[zips["state"].isin([s for s in geo.STATE_NAMES if s not in {"PR", "GU", "VI", "AS", "MP"}])]
    zips = zips[zips["zip_type"] == "STANDARD"].reset_index(drop=True)
    cities = geo.city_populations()
    scale = np.cos(np.radians(38.0))
    tree = cKDTree(np.c_[zips["lat"].to_numpy(), zips["lon"].to_numpy() * scale])
    weight = np.full(len(zips), 1500.0)  # small towns and rural businesses exist too
    for pop, lat, lon in cities[["population", "lat", "lon"]].itertuples(index=False):
        k = int(np.clip(pop / 25_000, 1, 80))
        _, idx = tree.query([lat, lon * scale], k=k)
        weight[np.atleast_1d(idx)] += pop / k
    out = zips[["postal_code", "city", "state", "county", "lat", "lon"]].copy()
    out["weight"] = weight / weight.sum()
    return out


def build_world(
    n_accounts: int = 5000,
    n_reps: int = 12,
    seed: int = 7,
    deals_per_account: float = 1.0,
    today: date = TODAY,
    progress: Progress = _noop,
    territories: str = "states",
) -> World:
    """Build the demo world deterministically from `seed` (no network, no clock).

    `territories` draws today's owners: "states" (whole states to the nearest office: few reps, uneven books)
    or "regions" (compact regions of drifted but comparable books, as a large team's are; see _regions)."""
    if n_accounts < 10 or n_reps < 1:
        raise ValueError("a demo world needs at least 10 accounts and 1 rep")
    if territories not in TERRITORIES:
        raise ValueError(f"territories {territories!r} is unknown; use one of {', '.join(TERRITORIES)}")
    rng = np.random.default_rng(seed)
    progress(0.05, "Placing accounts at real US ZIP codes")
    zw = zip_weights()
    pick = rng.choice(len(zw), size=n_accounts, p=zw["weight"].to_numpy())
    loc = zw.iloc[pick].reset_index(drop=True)
    progress(0.15, "Drawing firmographics")
    firm = _firmographics(rng, loc)
    progress(0.35, "Writing two years of deal history")
    hist = _deal_history(rng, firm, deals_per_account, today)
    progress(0.55, "Hiring reps and drawing today's territories")
    reps = _reps(rng, n_reps, zw)
    acct_ids = _ids("A", n_accounts, 7)
    names = _company_names(rng, firm["industry"], n_accounts)
    owner = _territories(rng, loc, reps, firm["employees"] * firm["adoption"] * PRICE_PER_USER, territories)
    accounts = _accounts_frame(rng, loc, firm, hist, acct_ids, names, owner)
    deals = _deals_frame(rng, hist, acct_ids, names, owner)
    truth = pd.DataFrame({"account_id": acct_ids, "p_true": firm["p_true"].round(5)})
    progress(0.7, "Logging recent activity")
    activities = _activities(rng, accounts, today)
    return World(accounts=accounts, deals=deals, reps=reps, truth=truth, activities=activities, today=today)


def _firmographics(rng: np.random.Generator, loc: pd.DataFrame) -> dict[str, np.ndarray]:
    """Industry, size, growth and buying signals per account, and the true logit of buying behind them."""
    n_accounts = len(loc)
    ind_idx = rng.choice(len(INDUSTRIES), size=n_accounts, p=INDUSTRIES["share"] / INDUSTRIES["share"].sum())
    ind = INDUSTRIES.iloc[ind_idx].reset_index(drop=True)
    employees = np.clip(np.round(ind["median_employees"].to_numpy() * rng.lognormal(0, 1.25, n_accounts)), 3, 250_000)
    revenue = np.round(employees * ind["revenue_per_employee"].to_numpy() * rng.lognormal(0, 0.35, n_accounts), -3)
    growth = np.clip(rng.normal(0.06, 0.13, n_accounts), -0.45, 1.2).round(3)
    intent = np.clip(rng.beta(2.0, 3.2, n_accounts) * 100 + 12 * (growth > 0.15), 0, 100).round(0)
    new_exec = rng.random(n_accounts) < 0.09
    visits = rng.poisson(2 + intent / 6 + 3 * new_exec)

    # Latent affinity of an (industry, region) cell: what "similar to recently won accounts" picks up.
    region = loc["postal_code"].str[:2].to_numpy()
    cell = pd.factorize(pd.Series(ind["industry"].to_numpy()) + "|" + region)[0]
    affinity = rng.normal(0, 0.75, cell.max() + 1)[cell]
    log_emp = np.log(employees)
    z_emp = (log_emp - log_emp.mean()) / log_emp.std()
    logit = (
        -1.15
        + ind["base_logit"].to_numpy()
        + 0.30 * z_emp
        - 0.12 * z_emp**2
        + 2.2 * growth
        + 0.032 * (intent - 40)
        + 0.85 * new_exec
        + affinity
    )
    return {
        "industry": ind["industry"].to_numpy(),
        "adoption": ind["adoption"].to_numpy(),
        "employees": employees,
        "revenue": revenue,
        "growth": growth,
        "intent": intent,
        "new_exec": new_exec,
        "visits": visits,
        "logit": logit,
        "p_true": _sigmoid(logit),
    }


def _deal_history(
    rng: np.random.Generator, firm: dict[str, np.ndarray], deals_per_account: float, today: date
) -> dict[str, np.ndarray]:
    """Two years of deals: more for accounts likelier to buy; each deal won with its own noise."""
    logit = firm["logit"]
    n_deals_each = rng.poisson(deals_per_account * (0.6 + 0.8 * _sigmoid(logit + 0.5)))
    deal_acct = np.repeat(np.arange(len(logit)), n_deals_each)
    n_deals = len(deal_acct)
    created = np.array(today - timedelta(days=730), dtype="datetime64[D]") + rng.integers(0, 730, n_deals)
    cycle = rng.gamma(3.0, 25.0, n_deals).astype(int) + 14
    closes = created + cycle  # open deals carry their expected close date
    is_closed = closes <= np.datetime64(today, "D")
    # Each deal's own noise: the same account can win one deal and lose another.
    deal_p = _sigmoid(logit[deal_acct] + rng.normal(0, 0.6, n_deals))
    is_won = is_closed & (rng.random(n_deals) < deal_p)
    stage = np.where(is_won, "Closed Won", "Closed Lost").astype(object)
    open_stage = np.array(OPEN_STAGES, dtype=object)[rng.integers(0, len(OPEN_STAGES), n_deals)]
    stage[~is_closed] = open_stage[~is_closed]
    adoption = firm["adoption"][deal_acct]
    users = np.maximum(1, np.round(firm["employees"][deal_acct] * adoption * rng.uniform(0.25, 0.9, n_deals)))
    amount = np.round(users * PRICE_PER_USER * rng.lognormal(0, 0.15, n_deals), -2)
    return {"account": deal_acct, "created": created, "close": closes, "is_closed": is_closed, "is_won": is_won,
            "stage": stage, "users": users, "amount": amount}  # fmt: skip


def _accounts_frame(
    rng: np.random.Generator,
    loc: pd.DataFrame,
    firm: dict[str, np.ndarray],
    hist: dict[str, np.ndarray],
    acct_ids: np.ndarray,
    names: np.ndarray,
    owner: np.ndarray,
) -> pd.DataFrame:
    """The accounts table; customers are the accounts with a won deal."""
    n_accounts = len(loc)
    first_won = pd.Series(hist["is_won"]).groupby(hist["account"]).any()
    customer = np.zeros(n_accounts, dtype=bool)
    customer[first_won.index.to_numpy()] = first_won.to_numpy()
    return pd.DataFrame(
        {
            "account_id": acct_ids,
            "source": "demo",
            "name": names,
            "industry": firm["industry"],
            "employees": firm["employees"].astype("int64"),
            "annual_revenue": firm["revenue"],
            "employee_growth": firm["growth"],
            "intent_score": firm["intent"],
            "new_executive": firm["new_exec"],
            "website_visits": firm["visits"].astype("int64"),
            "account_type": np.where(customer, "Customer", "Prospect"),
            "city": loc["city"].to_numpy(),
            "state": loc["state"].to_numpy(),
            "postal_code": loc["postal_code"].to_numpy(),
            "county": loc["county"].to_numpy(),
            "lat": (loc["lat"].to_numpy() + rng.normal(0, 0.01, n_accounts)).round(5),
            "lon": (loc["lon"].to_numpy() + rng.normal(0, 0.01, n_accounts)).round(5),
            "geo_method": "zip",
            "owner_rep_id": owner,
            "locked": False,
        }
    )


def _deals_frame(
    rng: np.random.Generator, hist: dict[str, np.ndarray], acct_ids: np.ndarray, names: np.ndarray, owner: np.ndarray
) -> pd.DataFrame:
    """The deals table, each deal owned by its account's owner."""
    deal_acct = hist["account"]
    n_deals = len(deal_acct)
    return pd.DataFrame(
        {
            "deal_id": _ids("D", n_deals, 8),
            "account_id": acct_ids[deal_acct],
            "name": names[deal_acct] + " - " + np.where(rng.random(n_deals) < 0.5, "New business", "Expansion"),
            "stage": hist["stage"],
            "amount": hist["amount"],
            "users": hist["users"].astype("int64"),
            "created_date": pd.to_datetime(hist["created"]).date,
            "close_date": pd.to_datetime(hist["close"]).date,
            "is_closed": hist["is_closed"],
            "is_won": hist["is_won"],
            "owner_rep_id": owner[deal_acct],
            "source": "demo",
        }
    )


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """'A0000001', 'A0000002', ... (an empty array for n = 0)."""
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _company_names(rng: np.random.Generator, industries: np.ndarray, n: int) -> np.ndarray:
    a = np.array(WORD_A, dtype=object)[rng.integers(0, len(WORD_A), n)]
    pick = rng.integers(0, 6, n)
    b = np.array([WORD_B[i][k] for i, k in zip(industries, pick, strict=True)], dtype=object)
    s = np.array(SUFFIX, dtype=object)[rng.integers(0, len(SUFFIX), n)]
    names = pd.Series(a + " " + b + " " + s).str.strip()
    # Real CRMs hold look-alike names; a number keeps each demo account tellable apart.
    dup = names.duplicated(keep="first")
    names[dup] = names[dup] + " " + pd.Series(np.arange(n))[dup].astype(str)
    return names.to_numpy(dtype=object)


def _reps(rng: np.random.Generator, n_reps: int, zw: pd.DataFrame) -> pd.DataFrame:
    cities = geo.city_populations()
    cities = cities[cities["state"].isin(set(zw["state"]))]
    big = cities.sort_values("population", ascending=False).head(max(40, n_reps * 3)).reset_index(drop=True)
    # Offices sit in big metros, several in the largest ones: that is what makes territories uneven.
    p = big["population"].to_numpy() ** 0.6
    homes = big.iloc[rng.choice(len(big), size=n_reps, replace=False, p=p / p.sum())].reset_index(drop=True)
    rows = []
    for i in range(n_reps):
        first = FIRST[i % len(FIRST)]
        last = LAST[(i * 7 + 3) % len(LAST)]
        rows.append(
            {
                "rep_id": f"R{i + 1:03d}",
                "name": f"{first} {last}" if i < len(FIRST) else f"{first} {last} {i // len(FIRST) + 1}",
                "email": f"{first.lower()}.{last.lower()}{'' if i < len(FIRST) else i // len(FIRST) + 1}@example.com",
                "home_city": homes.loc[i, "city"],
                "home_state": homes.loc[i, "state"],
                "home_lat": round(float(homes.loc[i, "lat"]), 5),
                "home_lon": round(float(homes.loc[i, "lon"]), 5),
                "quota": float(rng.choice([800_000, 1_000_000, 1_200_000, 1_500_000])),
                "capacity_hours": None,  # the Settings page's default capacity applies (NULL in the store)
                "active": True,
                "source": "demo",
            }
        )
    return pd.DataFrame(rows)


def _territories(
    rng: np.random.Generator, loc: pd.DataFrame, reps: pd.DataFrame, potential: np.ndarray, kind: str = "states"
) -> np.ndarray:
    """Today's territories: whole states to the nearest office (or regions, see _regions), plus
    named-account exceptions."""
    if kind == "regions":
        owner = _regions(rng, loc, reps, potential)
    else:
        states = loc.groupby("state")[["lat", "lon"]].mean()
        d = geo.haversine_km(
            states["lat"].to_numpy()[:, None], states["lon"].to_numpy()[:, None],
            reps["home_lat"].to_numpy()[None, :], reps["home_lon"].to_numpy()[None, :],
        )  # fmt: skip
        state_owner = pd.Series(reps["rep_id"].to_numpy()[d.argmin(axis=1)], index=states.index)
        owner = loc["state"].map(state_owner).to_numpy(dtype=object)
    # Named accounts: the largest ones are held by whoever landed them, wherever they are.
    n_named = max(1, len(loc) // 100)
    named = np.argsort(-potential, kind="stable")[:n_named]
    owner[named] = reps["rep_id"].to_numpy()[rng.integers(0, len(reps), n_named)]
    # A few fresh leads nobody owns yet: white space.
    unowned = rng.random(len(loc)) < 0.02
    owner[unowned] = None
    return owner


def _regions(rng: np.random.Generator, loc: pd.DataFrame, reps: pd.DataFrame, potential: np.ndarray) -> np.ndarray:
    """Territories as a large team has them: the map cut into one compact region per rep by recursive
    bisection on potential (the longer side at the weighted median), each book a fair share drifted by a
    lognormal factor (REGION_SPREAD), each region given to a rep near it (one region per rep, least total
    distance). No rep holds many times a fair share, so a rebalance's bound is near 1, as in real books."""
    lat, lon = loc["lat"].to_numpy(), loc["lon"].to_numpy() * np.cos(np.radians(38.0))
    want = rng.lognormal(0.0, REGION_SPREAD, len(reps))
    region = np.zeros(len(loc), dtype=np.int64)
    stack = [(np.arange(len(loc)), 0, len(reps))]  # accounts, first region, regions to cut them into
    while stack:
        idx, first, k = stack.pop()
        if k == 1 or len(idx) < 2:
            region[idx] = first
            continue
        half = k // 2
        axis = lat[idx] if np.ptp(lat[idx]) > np.ptp(lon[idx]) else lon[idx]
        order = idx[np.argsort(axis, kind="stable")]
        cum = np.cumsum(potential[order])
        cut = int(np.searchsorted(cum, cum[-1] * want[first : first + half].sum() / want[first : first + k].sum()))
        stack += [(order[:cut], first, half), (order[cut:], first + half, k - half)]
    n_regions = len(reps)
    size = np.maximum(np.bincount(region, minlength=n_regions), 1)
    c_lat = np.bincount(region, weights=loc["lat"].to_numpy(), minlength=n_regions) / size
    c_lon = np.bincount(region, weights=loc["lon"].to_numpy(), minlength=n_regions) / size
    km = geo.haversine_km(
        c_lat[:, None], c_lon[:, None], reps["home_lat"].to_numpy()[None, :], reps["home_lon"].to_numpy()[None, :]
    )
    rows, cols = linear_sum_assignment(km)
    rep_of_region = np.empty(n_regions, dtype=object)
    rep_of_region[rows] = reps["rep_id"].to_numpy()[cols]
    return rep_of_region[region]


def _activities(rng: np.random.Generator, accounts: pd.DataFrame, today: date) -> pd.DataFrame:
    """A thin trail of recent touches (emails, calls, meetings) so plans can compare to actuals."""
    n = len(accounts)
    owned = accounts["owner_rep_id"].notna().to_numpy()
    k = rng.poisson(0.6, n) * owned
    idx = np.repeat(np.arange(n), k)
    m = len(idx)
    kinds = np.array(["email", "call", "meeting", "social"], dtype=object)[
        rng.choice(4, size=m, p=[0.5, 0.25, 0.1, 0.15])
    ]
    when = np.array(today - timedelta(days=90), dtype="datetime64[D]") + rng.integers(0, 90, m)
    return pd.DataFrame(
        {
            "activity_id": _ids("T", m, 8),
            "account_id": accounts["account_id"].to_numpy()[idx],
            "rep_id": accounts["owner_rep_id"].to_numpy()[idx],
            "kind": kinds,
            "activity_date": pd.to_datetime(when).date,
            "subject": kinds,
            "outcome": np.where(kinds == "meeting", "held", "done"),
            "source": "demo",
        }
    )


@store.retry_conflicts
def build_store(
    path: Path,
    n_accounts: int = 5000,
    n_reps: int = 12,
    seed: int = 7,
    force: bool = False,
    deals_per_account: float = 1.0,
    progress: Progress = _noop,
    *,
    scope: Scope,
    territories: str = "states",
    actor: str | None = None,
) -> dict[str, int]:
    """Build the demo world and write it to the store at `path` (one all-or-nothing write).

    Replacing a store is an admin's act; the CLI and first launch run as the local operator. With `actor` (the
    Data page's signed-in admin) the audit log records who replaced what, counted, in the same write.
    """
    require_role(scope, "admin")
    if store.exists(path) and not force:
        with store.read(path) as con:
            if world_q.counts(con, scope=scope)["accounts"] and not world_q.is_demo(con):
                raise BadInput(f"{path} holds imported data; pass --force to replace it with the demo world")
    w = build_world(
        n_accounts, n_reps, seed, deals_per_account=deals_per_account, progress=progress, territories=territories
    )
    progress(0.8, "Writing the store")
    adoption = dict(zip(INDUSTRIES["industry"], INDUSTRIES["adoption"], strict=True))
    adoption = {k: potential.DEFAULT_ADOPTION.get(k, v) for k, v in adoption.items()}
    with store.write(path) as con:
        if actor is not None:
            audit(con, actor, "store.rebuild_demo", {"deleted": world_q.contents(con, scope=scope)}, scope=scope)
        world_q.replace_world(con, w, adoption, potential.default_price(), scope=scope)
        store.set_meta(con, "demo_seed", str(seed))
        world_q.set_currency(con, "USD", scope=scope)  # a US world: an import in euros is warned about
        # The default offer catalogue and partners, so a plan has offers and partners to suggest.
        plan.seed_catalogue(con)
        # Scores from the first launch: the Targets page and plans need them; same all-or-nothing write.
        propensity.train_and_score(
            con,
            created_by="demo",
            progress=lambda f, m: progress(0.85 + 0.14 * f, f"Scoring accounts: {m}"),
            scope=scope,
        )
    progress(1.0, "Done")
    return {"accounts": len(w.accounts), "deals": len(w.deals), "reps": len(w.reps)}


def store_contents(path: Path, *, scope: Scope) -> dict[str, int]:
    """What rebuilding the demo or emptying the store would delete: accounts, deals, reps, imports, scenarios and
    plans, counted (admins only)."""
    require_role(scope, "admin")
    with store.read(path) as con:
        return world_q.contents(con, scope=scope)


@store.retry_conflicts
def empty_store(path: Path, *, scope: Scope, actor: str) -> dict[str, int]:
    """Delete every account, deal, rep, import, score, scenario and plan, in one write that the audit log records
    with the counts it deleted (returned): a store to import into from scratch, after an import that went wrong.

    Sign-in users and their roles, the audit log, remembered column mappings and the offer catalogue are kept."""
    require_role(scope, "admin")
    with store.write(path) as con:
        deleted = world_q.contents(con, scope=scope)
        world_q.start_empty(con, scope=scope)
        audit(con, actor, "store.empty", {"deleted": deleted}, scope=scope)
    return deleted
