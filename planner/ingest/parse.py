"""Value parsers for CRM exports: the reference definitions, one value at a time.

The importer runs the same rules as SQL over whole columns (planner/store/imports/); these
Python versions define the rules, serve the preview, and are checked against the SQL versions by
property tests, so both always agree.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

from babel.numbers import list_currencies

from planner import export, geo

BLANKS = frozenset({"", "-", "--", "n/a", "na", "null", "none", "#n/a", "(blank)"})
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "x", "checked", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "unchecked", "off"})

WS = " "  # cells are trimmed of spaces (tabs and line ends belong to the CSV layer)
# What a money value may carry besides its digits, stripped before they are read (upper case): every ISO 4217 code
# (CLDR, through Babel: INR, CHF, KRW...), the currency signs, the local abbreviations exports write ('R$ 1.200,00',
# '1 200 zł', 'Rs. 12,00,000', 'RM 50'), spaces of every kind and Swiss apostrophes. The importer's SQL gets the same.
CURRENCY = ("|".join(sorted(list_currencies())) + "|US\\$|R\\$|CN¥|ZŁ|KČ|KR|RS\\.?|RM|ر\\.س|د\\.إ"
            "|[$€£¥￥円元﷼₹₩₽₺₪₫₱฿₴₦₸ \t\r\n\u00a0\u202f']")  # fmt: skip
_CURRENCY = re.compile(CURRENCY)
BLANK = r"(?i) *(|-|--|n/a|na|null|none|#n/a|\(blank\)) *"
_BLANK = re.compile(BLANK)
_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
SPLIT = r"(\(?)(.+?)(K|MM|M|BN|B)?(%?)(\)?)"
_SPLIT = re.compile(SPLIT, re.ASCII)
# Thousands grouped by three, or the Indian way (lakh and crore: 1,20,00,000 is 12 million).
_DOT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d{1,2}(,\d{2})+,\d{3}|\d+)(\.\d+)?|[+-]?\.\d+", re.ASCII)
_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?|[+-]?,\d+", re.ASCII)
# Values only one style can have written ('60.000.000', '1,234.56'): read so in a file of the other style.
# Indian lakh and crore groups ('16,60,00,000') too: several commas are never one decimal comma.
_DOT_ONLY = re.compile(
    r"[+-]?\d{1,3}(,\d{3}){2,}(\.\d+)?|[+-]?\d{1,3}(,\d{3})+\.\d+"
    r"|[+-]?\d{1,2}(,\d{2})+,\d{3}(\.\d+)?",
    re.ASCII,
)
_COMMA_ONLY = re.compile(r"[+-]?\d{1,3}(\.\d{3}){2,}(,\d+)?|[+-]?\d{1,3}(\.\d{3})+,\d+", re.ASCII)
# The most people one company employs is about 2 million: a head count above this is a typo or a sum, not a company.
MAX_EMPLOYEES = 10_000_000
MULTIPLIERS = {"K": 1e3, "M": 1e6, "MM": 1e6, "B": 1e9, "BN": 1e9}
# Evidence that a column writes 1.234,56 (decimal comma) or 1,234.56 (decimal point).
COMMA_EVIDENCE = r"^[+-]?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3}){2,})$"
DOT_EVIDENCE = r"^[+-]?(\d{1,3}(,\d{3})+\.\d+|\d+\.(\d{1,2}|\d{4,})|\d{1,3}(,\d{3}){2,})$"

_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})([T ].*)?", re.ASCII)
_YEAR_LAST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})([ T,].*)?", re.ASCII)
# A date as Excel stores it when the column is not formatted as a date: days since 1899-12-30 (10000 is
# 1927-05-18, 99999 is 2173-10-14), with the time of day as a fraction. Any other 5-digit number in a date
# column means nothing else.
_SERIAL = re.compile(r"([1-9]\d{4})(\.\d+)?", re.ASCII)
_SERIAL_EPOCH = date(1899, 12, 30)
# A compact date, YYYYMMDD (1900-2199), as ERP and data-warehouse exports write it.
_COMPACT = re.compile(r"((?:19|20|21)\d{2})(\d{2})(\d{2})", re.ASCII)
_ZIP = re.compile(r"(\d{5})(-?\d{4})?", re.ASCII)
_ZIP_SHORT = re.compile(r"(\d{3,4})(-\d{4})?", re.ASCII)
_ZIP_FLOAT = re.compile(r"(\d{3,5})\.0+", re.ASCII)

# A cell our own CSV exports neutralised ('=HYPERLINK(...)' written as "'=HYPERLINK(...)", planner.export): read back
# as the text it was (in the parsed rows' name-like fields, not per cell: that doubled the import's checks). Only
# exactly that form: an apostrophe, then text export.neutralise would prefix (a formula's first character after
# spaces; not a plain number, not a lone '-'), as two RE2 patterns: one the value matches, one it must not.
_SP = "[" + export.SPACES + "]*"
QUOTED_FORMULA = "(?s)'" + _SP + "[=+@-].*"
QUOTED_PLAIN = "'" + _SP + "(?:-|" + export._PLAIN_NUMBER.pattern + ")" + _SP
# The parsed rows' text fields a person reads (an account's, a deal's).
NAME_FIELDS = ("name", "account_name", "industry", "account_type", "city", "county", "owner", "stage")


def is_blank(value: str | None) -> bool:
    """Empty cells and the placeholders exports write for them ('N/A', '-', 'null')."""
    return value is None or bool(_BLANK.fullmatch(value))


def split_number_text(value: str) -> tuple[str, float] | None:
    """Strip currency, spaces, sign brackets, % and K/M/B suffixes: (digits text, scale) or None."""
    s = _CURRENCY.sub("", value.strip(WS).upper())
    m = _SPLIT.fullmatch(s)
    if not m:
        return None
    opening, core, mult, pct, closing = m.groups()
    if (opening, closing) not in (("", ""), ("(", ")")):
        return None
    scale = (-1.0 if opening else 1.0) * (0.01 if pct else 1.0) * MULTIPLIERS.get(mult or "", 1.0)
    return core, scale


def parse_number(value: str | None, decimal_comma: bool = False) -> float | None:
    """'$1,200,000.00', 'USD 1,200,000', '1.200.000,00 €', '(1,200)', '12.5%', '3.4M' -> float.

    None for blanks and for text that is not a number.
    """
    if is_blank(value):
        return None
    assert value is not None
    if not decimal_comma and _PLAIN.fullmatch(value.strip(WS)):
        return _finite(float(value.strip(WS)))
    parts = split_number_text(value)
    if parts is None:
        return None
    core, scale = parts
    if decimal_comma:
        comma = bool(_COMMA.fullmatch(core))
        if not comma and not _DOT_ONLY.fullmatch(core):
            return None
    else:
        comma = not (_DOT.fullmatch(core) or _PLAIN.fullmatch(core))
        if comma and not _COMMA_ONLY.fullmatch(core):
            return None
    number = float(core.replace(".", "").replace(",", ".")) if comma else float(core.replace(",", ""))
    return _finite(number * scale)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


# A whole number's thousands in either style: a head count is whole ('1,000-5,000' in a file of decimal commas).
_WHOLE = re.compile(r"\d{1,3}(,\d{3})+|\d{1,3}(\.\d{3})+", re.ASCII)


def _count(text: str, decimal_comma: bool) -> float | None:
    return (
        float(text.replace(",", "").replace(".", "")) if _WHOLE.fullmatch(text) else parse_number(text, decimal_comma)
    )


# A company size as LinkedIn and HR tools write it: the word after the number ('51-200 employees', '10,001+
# employees', '11-50 Mitarbeiter', '201-500 employés', '51-200 empleados'), dropped before the number is read; spaces
# are removed first. Only values the plain reading refuses are tried so (the import's fast path stays as it was).
SIZE_WORD = (r"(?i)(employees?|emps?|staff|mitarbeiter(innen)?|besch(ä|ae)ftigte|employ(é|e)s|salari(é|e)s"
             r"|empleados|funcion(á|a)rios|dipendenti|medewerkers|werknemers)\.?$")  # fmt: skip
_SIZE_WORD = re.compile(SIZE_WORD)
# A size in thousands with one or two decimals ('1.5k', '2,5K') is one whatever the file's decimal mark.
K_DECIMAL = r"\d+[.,]\d{1,2}[kK]\+?"
_K_DECIMAL = re.compile(K_DECIMAL)
_RANGE = re.compile(r"([\d,.]+[kK]?)(-|to|–)([\d,.]+[kK]?)")


def round_half_up(x: float) -> float:
    """x to the nearest whole number, halves away from zero (SQL's round: a '1-4' range is 3 people)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _head_count(s: str, decimal_comma: bool) -> float | None:
    m = None if not any(sep in s for sep in ("-", "to", "–")) else _RANGE.fullmatch(s)
    if m:
        lo, hi = _count(m.group(1), decimal_comma), _count(m.group(3), decimal_comma)
        return None if lo is None or hi is None else round_half_up((lo + hi) / 2)
    n = _count(s[:-1] if s.endswith("+") else s, decimal_comma)
    return None if n is None else round_half_up(n)


def parse_employees(value: str | None, decimal_comma: bool = False) -> int | None:
    """A head count; ranges such as '51-200' give their midpoint (halves up) and '10,001+' its floor, in
    thousands too ('1K-5K'), with a trailing word ('51-200 employees'); '-5' or one above MAX_EMPLOYEES is none."""
    if is_blank(value):
        return None
    assert value is not None
    s = value.strip(WS).replace(" ", "")
    n = _head_count(s, decimal_comma)
    if n is None:
        t = _SIZE_WORD.sub("", s)
        n = _head_count(t, decimal_comma)
        if n is None and _K_DECIMAL.fullmatch(t):
            n = _head_count(t.replace(",", "."), False)
    return None if n is None or not 0 <= n <= MAX_EMPLOYEES else int(n)


def parse_bool(value: str | None) -> bool | None:
    """Yes/No, true/false, 1/0, Y/N, checked: a bool; None for blanks and anything else."""
    if is_blank(value):
        return None
    assert value is not None
    s = value.strip(WS).lower()
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    return None


# A deal's stage says it is won, lost or still open, in the languages CRMs are used in: Salesforce's 'Closed Won',
# HubSpot's 'Abgeschlossen und gewonnen', 'Fermée gagnée', 'Cerrada perdida', 'Fechado ganho', 'Chiusa vinta',
# 'Gesloten verloren', 'Stängd vunnen', Bitrix24's stage IDs ('WON', 'LOSE', 'C1:WON', 'C1:LOSE', and 'APOLOGY', its
# analysis-of-failure stage). Words, not substrings ("Won't buy" is open); a stage that only says closed
# ('Closed', 'Geschlossen', 'Fermée') is lost.
_SEP = r"[ /\-_:(),.|–]"
WON_WORDS = ("won", "closedwon", "gewonnen", "gagné", "gagnée", "gagne", "gagnee", "ganada", "ganado", "ganha", "ganho",
             "vinta", "vinto", "vunnen", "vundet", "vunnet", "wygrana", "wygrany",
             # Russian CRMs (amoCRM 'Успешно реализовано', Bitrix24 'Сделка успешна'), Czech, Turkish
             "выиграна", "выиграно", "успешно", "успешна", "vyhráno", "vyhrano", "kazanıldı", "kazanildi",
             # Chinese, simplified and traditional (Salesforce '已结束/赢得', Zoho/Fxiaoke '赢单', '成交')
             "赢单", "已赢单", "赢得", "已赢得", "成交", "已成交", "签约", "已签约",
             "贏單", "已贏單", "贏得", "已贏得")  # fmt: skip
LOST_WORDS = ("lost", "closedlost", "verloren", "perdu", "perdue", "perdida", "perdido", "persa", "perso", "förlorad",
              "forlorad", "tabt", "tapt", "przegrana", "przegrany", "lose", "apology",
              "проиграна", "проиграно", "провалена", "потеряна", "prohráno", "prohrano", "kaybedildi",
              "输单", "已输单", "丢单", "已丢单", "丢失", "已丢失", "失败", "已失败",
              "輸單", "已輸單", "丟單", "已丟單", "丟失", "已丟失", "失敗", "已失敗")  # fmt: skip
CLOSED_WORDS = ("closed", "geschlossen", "abgeschlossen", "fermé", "fermée", "ferme", "fermee", "cerrada", "cerrado",
                "fechada", "fechado", "chiusa", "chiuso", "gesloten", "stängd", "lukket", "zamknięta",
                "закрыта", "закрыто", "uzavřeno", "kapandı",
                "已关闭", "已结束", "已關閉", "已結束", "종료", "종료됨")  # fmt: skip
# Japanese stages (HubSpot's 成約 / 失注, クローズ済み成立 / 不成立) have no word breaks, and 成約見込み ("likely to
# close") is open; Korean '성사' alone would also read '성사 가능성' ("could be won") as won: whole stages only.
WON_WHOLE = ("成約", "成立", "受注", "成約済み", "受注済み", "クローズ済み成立",
             "성사", "성사됨", "계약 성사", "거래 성사", "계약 완료", "수주", "수주 완료")  # fmt: skip
LOST_WHOLE = ("失注", "不成立", "失注済み", "クローズ済み不成立",
              "실패", "실패함", "계약 실패", "거래 실패", "실주", "무산")  # fmt: skip
WON_STAGE = rf"(^|{_SEP})({'|'.join(WON_WORDS)})($|{_SEP})|^({'|'.join(WON_WHOLE)})$"
LOST_STAGE = (rf"(^|{_SEP})({'|'.join(LOST_WORDS)})($|{_SEP})|^({'|'.join(CLOSED_WORDS)})($|{_SEP})"
              rf"|^({'|'.join(LOST_WHOLE)})$")  # fmt: skip
_WON_STAGE = re.compile(WON_STAGE)
_LOST_STAGE = re.compile(LOST_STAGE)


def stage_outcome(stage: str | None) -> str | None:
    """'won', 'lost' or 'open' from a deal's stage in any of the CRMs' languages; None for a blank stage."""
    if is_blank(stage):
        return None
    s = str(stage).strip(WS).lower()
    if _WON_STAGE.search(s):
        return "won"
    return "lost" if _LOST_STAGE.search(s) else "open"


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        y += 2000 if y < 70 else 1900
    return y


def _date(year: int, month: int, day: int) -> date | None:
    return date(year, month, day) if 1 <= year <= 9999 else None


def parse_date(value: str | None, day_first: bool = False) -> date | None:
    """ISO dates and date-times, US (M/D/Y) or day-first (D/M/Y, D.M.Y) dates, Excel serial day numbers
    (45000) and compact YYYYMMDD dates -> date."""
    if is_blank(value):
        return None
    assert value is not None
    s = value.strip(WS)
    try:
        m = _ISO.fullmatch(s)
        if m:
            return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _YEAR_LAST.fullmatch(s)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            month, day = (b, a) if day_first else (a, b)
            return _date(_year(m.group(3)), month, day)
        m = _SERIAL.fullmatch(s)
        if m:
            return _SERIAL_EPOCH + timedelta(days=int(m.group(1)))
        m = _COMPACT.fullmatch(s)
        if m:
            return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def parse_zip(value: str | None) -> str | None:
    """A US ZIP as 5 digits: ZIP+4 cut, lost leading zeros restored ('2134' -> '02134')."""
    if is_blank(value):
        return None
    assert value is not None
    s = value.strip(WS)
    m = _ZIP.fullmatch(s)
    if m:
        return m.group(1)
    m = _ZIP_SHORT.fullmatch(s) or _ZIP_FLOAT.fullmatch(s)
    if m:
        return m.group(1).zfill(5)
    if re.fullmatch(r"\d{8}", s):  # ZIP+4 without dash that lost its leading zero
        return s.zfill(9)[:5]
    return None


def parse_state(value: str | None) -> str | None:
    """'California', 'ca', 'Calif' is not guessed: a two-letter code or None."""
    if is_blank(value):
        return None
    return geo.normalize_state(value)
