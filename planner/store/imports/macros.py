"""SQL macros that parse CRM text column-wise, mirroring planner/ingest/parse.py (property tests check both
agree), and the geocoder's per-connection gazetteer tables. The rules (blank placeholders, yes/no words, US
state names and US spellings, number evidence) are the domain's: they arrive as a ParseRules value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from planner.scope import Scope, require_admin
from planner.store.core import quote_identifier
from planner.store.dbconfig import duckdb_config

q = quote_identifier


@dataclass(frozen=True)
class ParseRules:
    """What the domain's parsers accept, as the macros need it."""

    ws: str  # what cells are trimmed of
    blank: str  # regex of a blank placeholder ('', 'N/A', '-', 'null'...)
    true_words: frozenset[str]
    false_words: frozenset[str]
    split: str  # regex splitting a number into sign brackets, digits, K/M/B suffix and %
    currency: str  # regex (Python and RE2 alike) of what a money value carries besides its digits
    comma_evidence: str  # regex of a number written 1.234,56
    dot_evidence: str  # regex of a number written 1,234.56
    state_names: dict[str, str]  # US state code -> name
    us_names: tuple[str, ...]  # country values that mean the US (upper case)
    won_stage: str  # regex (on the lower-case stage) of a won deal's stage
    lost_stage: str  # regex of a lost (or only 'closed') deal's stage
    key_gap: str  # regex (RE2) of what a name key writes as one space (geo_world.name_key)
    max_employees: int  # the largest head count that is one company's
    size_word: str  # regex (Python and RE2 alike) of the word after a company size ('51-200 employees')


def lit(text: str) -> str:
    """A SQL string literal (for constant patterns only; values are bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _re(pattern: str) -> str:
    return lit(pattern)


_ISO = r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})([T ].*)?"
YEAR_LAST = r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})([ T,].*)?"  # D/M/Y or M/D/Y, any of / . -
_SERIAL = r"([1-9]\d{4})(\.\d+)?"  # an Excel serial day number (planner.ingest.parse)
_COMPACT = r"(19|20|21)\d{6}"  # YYYYMMDD


# A blank is spaces around one placeholder of at most 7 characters: longer values without edge spaces
# skip the regex, and values without edge spaces are used as they are (no trimmed copy).
# Lambdas bind a value once (list_transform([x], lambda m: ...)[1]), which keeps the expanded
# expressions small: nested macros that repeat their argument grow exponentially when planned.
# The {names} are filled by _macro_values from the domain's rules; {{ and }} are literal braces.
_MACROS_SQL = """
CREATE OR REPLACE TEMP MACRO tp_blank(v) AS CASE WHEN v IS NULL THEN true
    WHEN ord(v) NOT IN ({_BLANK_FIRST}) THEN false
    WHEN length(v) <= 7 OR prefix(v, ' ') OR suffix(v, ' ') THEN regexp_full_match(v, {blank})
    ELSE false END;
CREATE OR REPLACE TEMP MACRO tp_text(v) AS CASE WHEN tp_blank(v) THEN NULL
    WHEN NOT (prefix(v, ' ') OR suffix(v, ' ')) THEN v ELSE trim(v, {_WS}) END;
CREATE OR REPLACE TEMP MACRO tp_clean(v) AS regexp_replace(upper(trim(v, {_WS})), {_CURRENCY}, '', 'g');
CREATE OR REPLACE TEMP MACRO tp_finite(x) AS CASE WHEN isfinite(x) THEN x END;
CREATE OR REPLACE TEMP MACRO tp_parts_value(m, dec_comma) AS
    CASE WHEN NOT ((m.o = '' AND m.c = '') OR (m.o = '(' AND m.c = ')')) THEN NULL
         WHEN dec_comma THEN CASE WHEN regexp_full_match(m.core, {comma_re})
                                  THEN TRY_CAST(replace(replace(m.core, '.', ''), ',', '.') AS DOUBLE)
                                  WHEN regexp_full_match(m.core, {dot_only_re})
                                  THEN TRY_CAST(replace(m.core, ',', '') AS DOUBLE) END
         ELSE CASE WHEN regexp_full_match(m.core, {dot_re}) OR regexp_full_match(m.core, {plain_re})
                   THEN TRY_CAST(replace(m.core, ',', '') AS DOUBLE)
                   WHEN regexp_full_match(m.core, {comma_only_re})
                   THEN TRY_CAST(replace(replace(m.core, '.', ''), ',', '.') AS DOUBLE) END
    END * (CASE WHEN m.o = '(' THEN -1.0 ELSE 1.0 END) * (CASE WHEN m.pct = '%' THEN 0.01 ELSE 1.0 END)
      * (CASE m.mult WHEN 'K' THEN 1e3 WHEN 'M' THEN 1e6 WHEN 'MM' THEN 1e6 WHEN 'B' THEN 1e9 WHEN 'BN' THEN 1e9
         ELSE 1.0 END);
CREATE OR REPLACE TEMP MACRO tp_num(v, dec_comma) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN regexp_full_match(v, {fast_int}) THEN TRY_CAST(v AS DOUBLE)
    WHEN NOT dec_comma AND regexp_full_match(v, {fast_dec}) THEN TRY_CAST(v AS DOUBLE)
    WHEN NOT dec_comma AND regexp_full_match(v, {fast_money})
        THEN TRY_CAST(replace(replace(v, '$', ''), ',', '') AS DOUBLE)
    ELSE list_transform([CASE
    WHEN tp_blank(v) THEN NULL
    WHEN NOT dec_comma AND regexp_full_match(trim(v, {_WS}), {plain_re}) THEN TRY_CAST(trim(v, {_WS}) AS DOUBLE)
    ELSE list_transform([tp_clean(v)], lambda c: CASE
        WHEN NOT dec_comma AND regexp_full_match(c, {dot_re}) THEN TRY_CAST(replace(c, ',', '') AS DOUBLE)
        WHEN dec_comma AND regexp_full_match(c, {comma_re})
            THEN TRY_CAST(replace(replace(c, '.', ''), ',', '.') AS DOUBLE)
        ELSE list_transform([regexp_extract(c, {split_re}, ['o', 'core', 'mult', 'pct', 'c'])],
                            lambda m: tp_parts_value(m, dec_comma))[1] END)[1] END], lambda x: tp_finite(x))[1] END;
CREATE OR REPLACE TEMP MACRO tp_count(v, dec_comma) AS CASE WHEN regexp_full_match(v, {whole_re})
    THEN replace(replace(v, ',', ''), '.', '')::DOUBLE ELSE tp_num(v, dec_comma) END;
CREATE OR REPLACE TEMP MACRO tp_bool(v) AS CASE
    WHEN v IS NULL THEN NULL WHEN v IN ({_TRUE_EXACT}) THEN true WHEN v IN ({_FALSE_EXACT}) THEN false
    ELSE list_transform([lower(trim(v, {_WS}))], lambda s: CASE WHEN s IN ({_TRUE_LIST}) THEN true
                                                                WHEN s IN ({_FALSE_LIST}) THEN false END)[1] END;
CREATE OR REPLACE TEMP MACRO tp_year(t) AS CASE WHEN length(t) = 2
    THEN CASE WHEN t::INT < 70 THEN 2000 + t::INT ELSE 1900 + t::INT END ELSE t::INT END;
CREATE OR REPLACE TEMP MACRO tp_mkdate(y, m, d) AS CASE WHEN y >= 1 AND y <= 9999 THEN try(make_date(y, m, d)) END;
CREATE OR REPLACE TEMP MACRO tp_date(v, day_first) AS CASE
    WHEN NOT day_first AND regexp_full_match(v, '\\d{{1,2}}/\\d{{1,2}}/[1-9]\\d{{3}}')
        THEN try_strptime(v, '%m/%d/%Y')::DATE
    WHEN regexp_full_match(v, '[1-9]\\d{{3}}-\\d{{2}}-\\d{{2}}') THEN TRY_CAST(v AS DATE)
    WHEN tp_blank(v) THEN NULL ELSE
    list_transform([trim(v, {_WS})], lambda s: CASE
        WHEN regexp_full_match(s, {iso}) THEN list_transform(
            [regexp_extract(s, {iso_full}, ['y', 'm', 'd', 't'])],
            lambda m: tp_mkdate(m.y::INT, m.m::INT, m.d::INT))[1]
        WHEN regexp_full_match(s, {year_last}) THEN list_transform(
            [regexp_extract(s, {year_last_full}, ['a', 'b', 'y', 't'])],
            lambda m: tp_mkdate(tp_year(m.y), (CASE WHEN day_first THEN m.b ELSE m.a END)::INT,
                                (CASE WHEN day_first THEN m.a ELSE m.b END)::INT))[1]
        WHEN regexp_full_match(s, {serial}) THEN DATE '1899-12-30' + left(s, 5)::INT
        WHEN regexp_full_match(s, {compact}) THEN tp_mkdate(left(s, 4)::INT, substr(s, 5, 2)::INT, substr(s, 7, 2)::INT)
    END)[1] END;
CREATE OR REPLACE TEMP MACRO tp_stage(v) AS CASE WHEN tp_blank(v) THEN NULL ELSE
    list_transform([lower(trim(v, {_WS}))], lambda s: CASE WHEN regexp_matches(s, {won_stage}) THEN 'won'
                                                          WHEN regexp_matches(s, {lost_stage}) THEN 'lost'
                                                          ELSE 'open' END)[1] END;
CREATE OR REPLACE TEMP MACRO tp_zip(v) AS CASE
    WHEN regexp_full_match(v, '\\d{{5}}') THEN v WHEN tp_blank(v) THEN NULL ELSE
    list_transform([trim(v, {_WS})], lambda s: CASE
        WHEN regexp_full_match(s, '(\\d{{5}})(-?\\d{{4}})?') THEN left(s, 5)
        WHEN regexp_full_match(s, '(\\d{{3,4}})(-\\d{{4}})?') THEN lpad(regexp_extract(s, '^(\\d{{3,4}})', 1), 5, '0')
        WHEN regexp_full_match(s, '(\\d{{3,5}})\\.0+') THEN lpad(regexp_extract(s, '^(\\d{{3,5}})', 1), 5, '0')
        WHEN regexp_full_match(s, '\\d{{8}}') THEN left(lpad(s, 9, '0'), 5)
    END)[1] END;
CREATE OR REPLACE TEMP MACRO tp_max_employees() AS {max_employees};
CREATE OR REPLACE TEMP MACRO tp_head(s, dec_comma) AS round(CASE
    WHEN (contains(s, '-') OR contains(s, 'to') OR contains(s, '–')) AND regexp_full_match(s, {head_range})
    THEN list_transform([regexp_extract(s, {head_range_full}, ['lo', 'sep', 'hi'])],
                        lambda m: (tp_count(m.lo, dec_comma) + tp_count(m.hi, dec_comma)) / 2)[1]
    ELSE tp_count(CASE WHEN suffix(s, '+') THEN s[1:length(s) - 1] ELSE s END, dec_comma) END);
CREATE OR REPLACE TEMP MACRO tp_head_slow(s, dec_comma) AS list_transform([regexp_replace(s, {size_word}, '')],
    lambda t: coalesce(tp_head(t, dec_comma), CASE WHEN regexp_full_match(t, {k_decimal})
                                                   THEN tp_head(replace(t, ',', '.'), false) END))[1];
CREATE OR REPLACE TEMP MACRO tp_key(v) AS
    nullif(trim(regexp_replace(lower(strip_accents(v)), {key_gap}, ' ', 'g')), '');
CREATE OR REPLACE TEMP MACRO tp_domain(v) AS
    nullif(regexp_replace(regexp_replace(lower(trim(v)), '^[a-z]+://', ''), '^www\\.|[/?#].*$', '', 'g'), '');
CREATE OR REPLACE TEMP MACRO tp_email(v) AS CASE WHEN regexp_full_match(lower(trim(v)),
    '[a-z0-9.!#$%&''*+/=?^_`{{|}}~-]+@[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?)+')
    THEN lower(trim(v)) END;
CREATE OR REPLACE TEMP MACRO tp_statekey(v) AS upper(replace(trim(v), '.', ''));
CREATE OR REPLACE TEMP MACRO tp_state(v) AS CASE WHEN v IN ({_STATE_CODES}) THEN v
    ELSE coalesce({_STATE_MAP}[tp_statekey(v)], tp_text(v)) END;
CREATE OR REPLACE TEMP MACRO tp_is_us(v) AS coalesce(list_contains({_US}, upper(trim(v))), true);
CREATE OR REPLACE TEMP MACRO tp_comma_evidence(v) AS regexp_matches(v, {comma_evidence});
CREATE OR REPLACE TEMP MACRO tp_dot_evidence(v) AS regexp_matches(v, {dot_evidence});
"""

# Plain numbers as most exports write them, read by one cast (bounded digits: never overflow to inf).
_FAST_INT = r"[+-]?\d{1,18}"
_FAST_DEC = r"[+-]?(\d{1,18}\.\d{0,18}|\.\d{1,18})"
_FAST_MONEY = r"\$?(\d{1,3}(,\d{3}){1,5}|\d{1,18})(\.\d{1,18})?"
_PLAIN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_DOT = r"[+-]?(\d{1,3}(,\d{3})+|\d{1,2}(,\d{2})+,\d{3}|\d+)(\.\d+)?|[+-]?\.\d+"
_COMMA = r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?|[+-]?,\d+"
# A whole number's thousands (a head count: no one employs 1.5 people), in either style.
_WHOLE = r"\d{1,3}(,\d{3})+|\d{1,3}(\.\d{3})+"
# A head count's range, its ends in thousands too ('1K-5K'), and thousands with decimals ('1.5k': planner.ingest.parse).
_HEAD_RANGE = r"([\d,.]+[kK]?)(-|to|–)([\d,.]+[kK]?)"
_K_DECIMAL = r"\d+[.,]\d{1,2}[kK]\+?"
# A value only one style can have written, read so in a file of the other style (a '€60.000.000' quota beside
# '£1,200,000' ones was left empty): two or more groups of three, or a group then the other decimal mark, or
# Indian lakh and crore groups ('₹ 16,60,00,000': several commas are never one decimal comma).
_DOT_ONLY = (
    r"[+-]?\d{1,3}(,\d{3}){2,}(\.\d+)?|[+-]?\d{1,3}(,\d{3})+\.\d+"
    r"|[+-]?\d{1,2}(,\d{2})+,\d{3}(\.\d+)?"
)
_COMMA_ONLY = r"[+-]?\d{1,3}(\.\d{3}){2,}(,\d+)?|[+-]?\d{1,3}(\.\d{3})+,\d+"


def _macro_values(rules: ParseRules) -> dict[str, str]:
    """The SQL literals the macros are built from: the domain's words, patterns and state names."""
    # No blank placeholder is a yes/no word, so the usual spellings are looked up as they are written.
    cases = (str, str.upper, str.title)
    state_map = [(c, c) for c in rules.state_names] + [(n.upper(), c) for c, n in rules.state_names.items()]
    return {
        "_TRUE_LIST": ", ".join(lit(b) for b in sorted(rules.true_words)),
        "_FALSE_LIST": ", ".join(lit(b) for b in sorted(rules.false_words)),
        "_WS": lit(rules.ws),
        # Blank placeholders start with a space, '-', 'n'/'N', '#' or '(' (or are empty: ord -1): other values
        # skip the regex. ord() reads the first character without making a string.
        "_BLANK_FIRST": ", ".join(["-1"] + [str(ord(ch)) for ch in " -nN#("]),
        "_TRUE_EXACT": ", ".join(lit(w) for w in sorted({f(w) for w in rules.true_words for f in cases})),
        "_FALSE_EXACT": ", ".join(lit(w) for w in sorted({f(w) for w in rules.false_words for f in cases})),
        # State codes as they are, else full names (any case, dots dropped) by a constant map lookup.
        "_STATE_CODES": ", ".join(lit(c) for c in rules.state_names),
        "_STATE_MAP": "MAP {" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in state_map) + "}",
        "_CURRENCY": _re(rules.currency),
        "_US": "[" + ", ".join(lit(c) for c in rules.us_names) + "]",  # a list lookup, not a join
        "blank": _re(rules.blank), "comma_re": _re(_COMMA), "dot_re": _re(_DOT), "plain_re": _re(_PLAIN),
        "dot_only_re": _re(_DOT_ONLY), "comma_only_re": _re(_COMMA_ONLY), "whole_re": _re(_WHOLE),
        "fast_int": _re(_FAST_INT), "fast_dec": _re(_FAST_DEC), "fast_money": _re(_FAST_MONEY),
        "split_re": _re("^" + rules.split + "$"), "iso": _re(_ISO), "iso_full": _re("^" + _ISO + "$"),
        "year_last": _re(YEAR_LAST), "year_last_full": _re("^" + YEAR_LAST + "$"),
        "serial": _re(_SERIAL), "compact": _re(_COMPACT),
        "won_stage": _re(rules.won_stage), "lost_stage": _re(rules.lost_stage),
        "comma_evidence": lit(rules.comma_evidence), "dot_evidence": lit(rules.dot_evidence),
        "key_gap": _re(rules.key_gap), "max_employees": str(int(rules.max_employees)),
        "size_word": _re(rules.size_word), "k_decimal": _re(_K_DECIMAL), "head_range": _re(_HEAD_RANGE),
        "head_range_full": _re("^" + _HEAD_RANGE + "$"),
    }  # fmt: skip


def macros_sql(rules: ParseRules) -> str:
    """The parsing macros, built from the domain's rules (planner.ingest.rules mirrors planner.ingest.parse)."""
    return _MACROS_SQL.format(**_macro_values(rules))


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]], width: int,
                columns: str = "", *, scope: Scope) -> None:  # fmt: skip
    """Insert many rows in one statement (one list parameter per column; executemany runs one statement
    per row, which is slow in DuckDB)."""
    require_admin(scope)
    if not rows:
        return
    cols = ", ".join(f"unnest(${i + 1})" for i in range(width))
    target = f"{table} ({columns})" if columns else table
    con.execute(f"INSERT INTO {target} SELECT {cols}", [[r[i] for r in rows] for i in range(width)])


def install_macros(con: duckdb.DuckDBPyConnection, rules: ParseRules, countries: pd.DataFrame | pa.Table | None = None,
                   cities: pd.DataFrame | pa.Table | None = None,
                   namesakes: tuple[pa.Table, pa.Table] | None = None) -> None:  # fmt: skip
    """Create the parsing macros and the geocoder's fallback tables on this connection (temporary objects).

    `countries` (code, name, key, lat, lon: one row per spelling) and `cities` (city_key 'CITY|CC', lat, lon)
    are the world gazetteer the domain reads from a package's shipped data. Arrow tables are registered as they
    are (read in place, nothing copied: a third of a small import's time went to copying the 90,000 cities into
    a temporary table on every import); frames are copied into temporary tables. `namesakes`: namesake_tables of
    `cities`, made once per gazetteer by the caller (else here, on every call)."""
    con.execute("SET enable_progress_bar = false")
    con.execute(macros_sql(rules))
    con.execute("CREATE OR REPLACE TEMP TABLE _tp_us_states AS SELECT unnest(?::VARCHAR[]) AS code",
                [list(rules.state_names)])  # fmt: skip
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _tp_zip3 AS
           SELECT left(postal_code, 3) AS zip3, avg(lat) AS lat, avg(lon) AS lon FROM geo_zip GROUP BY 1"""
    )
    empty_c = pd.DataFrame({"code": pd.Series(dtype=str), "name": pd.Series(dtype=str), "key": pd.Series(dtype=str),
                            "lat": pd.Series(dtype=float), "lon": pd.Series(dtype=float)})  # fmt: skip
    empty_w = pd.DataFrame({"city_key": pd.Series(dtype=str), "lat": pd.Series(dtype=float),
                            "lon": pd.Series(dtype=float), "population": pd.Series(dtype="int64")})  # fmt: skip
    for name, frame in (("_tp_country", countries if countries is not None else empty_c),
                        ("_tp_wcity", cities if cities is not None else empty_w)):  # fmt: skip
        if isinstance(frame, pa.Table):
            con.register(name, frame)
            continue
        con.register("_tp_src", frame)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _tp_src")
        finally:
            con.unregister("_tp_src")
    # A city named without a country (a file with no country column): the most populous city of that name in a
    # country of the import's context (_tp_ctx: geocode.namesake_context), else anywhere; ambiguous when its
    # namesakes lie in several countries and the context does not pick one (a key 'CITY|CC' is one row, so a
    # country counts once). What the context cannot change (each name's most populous city, its countries) is
    # aggregated once per gazetteer (namesake_tables: the 139,000 keys took 0.4 s of CPU per reference, several
    # per import); the view only ranks the few namesakes of several countries that lie in the context.
    if namesakes is None:
        namesakes = namesake_tables(con.execute("SELECT * FROM _tp_wcity").fetch_arrow_table())
    con.register("_tp_wname", namesakes[0])
    con.register("_tp_wmulti", namesakes[1])
    con.execute("CREATE OR REPLACE TEMP TABLE _tp_ctx (code VARCHAR)")
    con.execute(
        """CREATE OR REPLACE TEMP VIEW _tp_wcity_any AS
           WITH c AS (SELECT m.name, arg_max({'lat': m.lat, 'lon': m.lon, 'code': m.code}, m.population) AS top,
                             count(*) AS n_ctx
                      FROM _tp_wmulti m JOIN _tp_ctx x ON x.code = m.code GROUP BY 1)
           SELECT a.name, coalesce(c.top.lat, a.lat) AS lat, coalesce(c.top.lon, a.lon) AS lon,
                  coalesce(c.top.code, a.code) AS code, a.n > 1 AND coalesce(c.n_ctx, 0) <> 1 AS ambiguous, a.codes
           FROM _tp_wname a LEFT JOIN c ON c.name = a.name"""
    )


def namesake_tables(cities: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The context-free half of the city-alone lookup over `cities` (city_key 'CITY|CC', lat, lon, population), in
    a connection of its own: per name its most populous city, how many countries have one (n) and which (codes,
    when several); and the cities of the names several countries share (name, code, lat, lon, population)."""
    with duckdb.connect(config=duckdb_config()) as con:
        con.register("_w_src", cities)
        con.execute(
            """CREATE TEMP TABLE w AS SELECT split_part(city_key, '|', 1) AS name, split_part(city_key, '|', 2) AS code,
                      lat::DOUBLE AS lat, lon::DOUBLE AS lon, population::BIGINT AS population FROM _w_src"""
        )
        con.execute(
            "CREATE TEMP TABLE m AS SELECT * FROM w WHERE name IN (SELECT name FROM w GROUP BY 1 HAVING count(*) > 1)"
        )
        names = con.execute(
            """SELECT a.name, a.top.lat AS lat, a.top.lon AS lon, a.top.code AS code, a.n, c.codes
               FROM (SELECT name, arg_max({'lat': lat, 'lon': lon, 'code': code}, population) AS top, count(*) AS n
                     FROM w GROUP BY 1) a
               LEFT JOIN (SELECT name, string_agg(code, ', ' ORDER BY code) AS codes FROM m GROUP BY 1) c
                 ON c.name = a.name"""
        ).fetch_arrow_table()
        multi = con.execute("SELECT * FROM m").fetch_arrow_table()
    return names, multi


def sql_parse(con: duckdb.DuckDBPyConnection, kind: str, values: Sequence[str | None], *, decimal_comma: bool = False,
              day_first: bool = False) -> list[Any]:  # fmt: skip
    """Run one parsing macro over values (used by tests to check SQL against the Python reference), in one
    statement: the values arrive as one list parameter (a temporary table filled by executemany, one statement
    per row, took three times as long)."""
    expr = {
        "number": "tp_num(v, $2)",
        "bool": "tp_bool(v)",
        "date": "tp_date(v, $2)",
        "zip": "tp_zip(v)",
        "text": "tp_text(v)",
        "stage": "tp_stage(v)",
        "key": "tp_key(v)",
    }[kind]
    params: list[Any] = [list(values)]
    params += [decimal_comma] if kind == "number" else [day_first] if kind == "date" else []
    rows = con.execute(
        f"""SELECT {expr} FROM (SELECT unnest($1::VARCHAR[]) AS v, generate_subscripts($1::VARCHAR[], 1) AS i)
            ORDER BY i""",
        params,
    ).fetchall()
    return [r[0] for r in rows]
