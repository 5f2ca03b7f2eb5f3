"""Reading Slurm's host lists (the real scontrol is the oracle in tests/e2e/test_slurm_hostlist.py): the
forms Slurm writes, and what no Slurm writes refused with its reason rather than read as something else."""

from __future__ import annotations

import pytest

from neocloud.adapters.slurm.hostlist import expand


@pytest.mark.parametrize(
    ("hostlist", "names"),
    [
        ("", []),
        ("(null)", []),
        ("b-000-r00-n[00-01],b-000-r01-n00", ["b-000-r00-n00", "b-000-r00-n01", "b-000-r01-n00"]),
        ("r[0-1]-n[8-9]", ["r0-n8", "r0-n9", "r1-n8", "r1-n9"]),
        ("n[09-11,5]", ["n09", "n10", "n11", "n5"]),
    ],
)
def test_forms_slurm_writes(hostlist: str, names: list[str]) -> None:
    assert expand(hostlist) == names


@pytest.mark.parametrize(
    ("hostlist", "reason"),
    [
        ("n[1-", "unbalanced"),
        ("n]1[", "unbalanced"),
        ("n[[1]]", "unbalanced"),
        ("n[a-b]", "not a range of numbers"),
        ("n[1-]", "not a range of numbers"),
        ("n[-1]", "not a range of numbers"),
        ("a,,b", "empty name"),
        ("n[3-1]", "backwards"),
        ("n[0-99999999]", "beyond 1,000,000"),
        ("r[0-9999]-n[0-9999]", "more than 1,000,000 names"),
        ("n[0-1]x", "text after the last group"),
    ],
)
def test_what_no_slurm_writes_is_refused(hostlist: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        expand(hostlist)
