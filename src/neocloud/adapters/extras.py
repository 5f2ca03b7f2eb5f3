"""Optional parts of neocloud (pyproject's extras): a command that needs one that is missing says which."""

from __future__ import annotations

from importlib import import_module

from neocloud.core.errors import MissingExtra


def require_extra(extra: str, purpose: str, *modules: str) -> None:
    """Refuse, naming the extra to install, when any of `modules` is not installed (they are imported here:
    the caller imports them next anyway)."""
    missing = []
    for module in modules:
        try:
            import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise  # installed, but broken: not a missing extra
            missing.append(module)
    if missing:
        raise MissingExtra(
            f"{purpose} needs {', '.join(missing)}: install neocloud's {extra!r} extra "
            f"(pip install 'neocloud[{extra}]')",
            extra=extra,
            missing=missing,
        )
