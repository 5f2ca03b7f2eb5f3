"""The bounds of every value neocloud accepts, in one place: the API's schemas, the CLI's parsers, spec files
and the core's own checks all use these, so a value refused at one door is refused at every door.

Times are integer seconds within [1970-01-01, 9999-12-31] (an interval may end at the first instant after
that day). Counts are capped where a larger one cannot mean anything. Decimals are written plainly (no
exponent, no NaN or infinity), with at most six places. Names and ids are short and printable.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from neocloud.core.errors import InvalidInput, quoted
from neocloud.core.timeutil import seconds_of

MIN_TIME = 0  # 1970-01-01T00:00Z
MAX_TIME = seconds_of(10_000, 1)  # 10000-01-01T00:00Z: the exclusive end of 9999-12-31
MAX_GPUS = 10_000_000  # more GPUs than any fleet holds
MAX_MILLI_GPUS = MAX_GPUS * 1000
MAX_GPUS_PER_TASK = 1_000  # more than any node or NVLink domain
MAX_TASKS = 100_000
MAX_DURATION = 10 * 366 * 86_400  # ten years, in seconds
MAX_NOTICE_DAYS = 3_660  # ten years
MAX_PREEMPTION_NOTICE = 7 * 86_400  # seconds
MAX_CAP_W = 10_000  # watts: above any GPU's TDP (each model refuses caps outside its own range)
MAX_MW = Decimal(100_000)  # megawatts: above any site's feed
MAX_RAMP_MW_PER_S = MAX_MW  # a site's whole feed in a second
PLACES = 6  # decimal places of prices and rates; amounts of money keep two
MAX_RATE = Decimal(1_000_000)  # USD per GPU-hour
MAX_MONEY = Decimal(10) ** 15  # USD: fits the store's NUMERIC(20, 2)
MAX_NAME = 64
MAX_ID = 100
MAX_TEXT = 500
MAX_KEY = 200  # Idempotency-Key header

# A name (tenant, site) or an id: ASCII letters and digits, then also . _ - (ids may hold ':' and '/').
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ID = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$"
PERIOD = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"  # YYYY-MM, 1970-01 .. 9999-12
DECIMAL = r"^[+-]?[0-9]{1,20}(\.[0-9]{1,20})?$"
_NAME, _ID, _DECIMAL = re.compile(NAME), re.compile(ID), re.compile(DECIMAL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_time(t: object, field: str = "time") -> int:
    if not isinstance(t, int) or isinstance(t, bool):
        raise InvalidInput(f"{field} must be integer seconds, got {quoted(t)}", field=field)
    if not MIN_TIME <= t <= MAX_TIME:
        raise InvalidInput(f"{field} must be within 1970-01-01 and 9999-12-31, got {quoted(t)}", field=field)
    return t


def check_count(n: object, field: str, low: int, high: int) -> int:
    """A whole number within [low, high] (a bool is not a number here)."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise InvalidInput(f"{field} must be a whole number, got {quoted(n)}", field=field)
    if not low <= n <= high:
        raise InvalidInput(f"{field} must be within {low:,} and {high:,}, got {quoted(n)}", field=field)
    return n


def check_decimal(
    value: Decimal, field: str, *, low: Decimal = Decimal(0), high: Decimal = MAX_RATE, places: int = PLACES
) -> Decimal:
    """A finite decimal within [low, high] with at most `places` decimal places (never rounded here)."""
    if not value.is_finite():
        raise InvalidInput(f"{field} must be a finite number, got {quoted(str(value))}", field=field)
    if not low <= value <= high:
        raise InvalidInput(f"{field} must be within {low} and {high}, got {quoted(str(value))}", field=field)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise InvalidInput(f"{field} has more than {places} decimal places: {quoted(str(value))}", field=field)
    return value


def parse_decimal(
    text: object, field: str, *, low: Decimal = Decimal(0), high: Decimal = MAX_RATE, places: int = PLACES
) -> Decimal:
    """A decimal written plainly as text, e.g. "2.40" (no exponent, NaN or infinity), checked as above."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise InvalidInput(f"{field} must be a plain decimal like 2.40, got {quoted(text)}", field=field)
    try:
        value = Decimal(text)
    except InvalidOperation:  # the pattern admits none, but say so plainly if it ever did
        raise InvalidInput(f"{field} must be a plain decimal like 2.40, got {quoted(text)}", field=field) from None
    return check_decimal(value, field, low=low, high=high, places=places)


def check_name(text: object, field: str = "name", pattern: re.Pattern[str] = _NAME, limit: int = MAX_NAME) -> str:
    if not isinstance(text, str) or not 0 < len(text) <= limit or not pattern.fullmatch(text):
        raise InvalidInput(
            f"{field} must be 1-{limit} letters, digits, '.', '_' or '-', starting with a letter or digit;"
            f" got {quoted(text)}",
            field=field,
        )
    return text


def check_id(text: object, field: str = "id") -> str:
    return check_name(text, field, _ID, MAX_ID)


def check_text(text: object, field: str, limit: int = MAX_TEXT) -> str:
    """Free text: at most `limit` characters, none of them control characters."""
    if not isinstance(text, str) or len(text) > limit:
        raise InvalidInput(f"{field} must be text of at most {limit} characters", field=field)
    if _CONTROL.search(text):
        raise InvalidInput(f"{field} must not hold control characters", field=field)
    return text


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


MAX_COMMAND = 4_096  # characters of a workload's command line
MAX_ENV = 64  # variables of a workload's environment
MAX_PATH = 1_024
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_ENV_NAME = re.compile(ENV_NAME)


def check_command(run: object, env: object, workdir: object, output: object) -> None:
    """A workload's command: a line of at most MAX_COMMAND characters (tabs allowed, no other control
    characters), at most MAX_ENV variables with names as shells take them, and absolute paths (or none)."""
    if not isinstance(run, str) or not run.strip() or len(run) > MAX_COMMAND or _CONTROL.search(run.replace("\t", " ")):
        raise InvalidInput(
            f"command must be one line of 1-{MAX_COMMAND} characters, no control characters", field="command"
        )
    if not isinstance(env, tuple) or len(env) > MAX_ENV:
        raise InvalidInput(f"env must hold at most {MAX_ENV} variables", field="env")
    for name, value in env:
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise InvalidInput(f"env: {quoted(name)} is not a variable name", field="env")
        check_text(value, f"env {name}", MAX_COMMAND)
    for field, path in (("workdir", workdir), ("output", output)):
        if path != "" and (not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH):
            raise InvalidInput(f"{field} must be an absolute path of at most {MAX_PATH} characters", field=field)
        check_text(path, field, MAX_PATH)


def finite_seconds(value: float, what: str) -> float:
    """Seconds within 0 and ten years (NaN and infinities parse as floats, but are no time)."""
    if not 0 <= value <= MAX_DURATION:  # NaN and infinities fail the comparison too
        raise InvalidInput(f"bad {what} {value}: seconds must be within 0 and {MAX_DURATION:,}", value=str(value))
    return value


def parse_seconds_list(text: str, what: str) -> list[float]:
    """Comma-separated seconds (`0.2,0.6,1.4`), at most 8, each as `finite_seconds` takes it."""
    parts, shown = text.split(","), text[:100]
    if len(parts) > 8:
        raise InvalidInput(f"bad {what}: at most 8, got {len(parts)}", value=shown)
    try:
        return [finite_seconds(float(part), what) for part in parts]
    except ValueError:
        raise InvalidInput(f"bad {what} {quoted(shown)}: use seconds such as 0.2,0.6,1.4", value=shown) from None
