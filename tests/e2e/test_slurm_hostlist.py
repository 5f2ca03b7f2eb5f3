"""Host lists as Slurm itself expands them (`scontrol show hostnames`, the oracle) against neocloud's reading
of them (adapters/slurm/hostlist.py), on lists Hypothesis writes in the forms Slurm writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.slurm.hostlist import expand
from neocloud.adapters.slurm.localcluster import LocalSlurm

# A node's name starts with a letter (scontrol would take a leading "-" for an option).
literal = st.tuples(st.sampled_from("abcxyz"), st.text("abcxyz-", max_size=3)).map("".join)


@st.composite
def group(draw: st.DrawFn) -> str:
    """`[lo-hi,n,...]`, every number zero-padded to one width, as Slurm writes them."""
    width = draw(st.integers(1, 3))
    items = []
    for _ in range(draw(st.integers(1, 3))):
        low = draw(st.integers(0, 10**width - 1))
        high = draw(st.integers(low, min(low + 5, 10**width - 1)))
        items.append(f"{low:0{width}d}" + (f"-{high:0{width}d}" if high > low else ""))
    return "[" + ",".join(items) + "]"


@st.composite
def name(draw: st.DrawFn) -> str:
    """Text and groups; a group, if any, last (Slurm reads a name with text after its last group as none)."""
    parts = [draw(literal)]
    for _ in range(draw(st.integers(0, 2))):
        parts += [draw(st.text("abcxyz-", max_size=3)), draw(group())]
    return "".join(parts)


@settings(max_examples=60, deadline=None)
@given(st.lists(name(), min_size=1, max_size=4))
def test_host_lists_read_as_slurm_reads_them(slurm_cluster: LocalSlurm, names: list[str]) -> None:
    hostlist = ",".join(names)
    slurms = SlurmCli(slurm_cluster.conf).run("scontrol", "show", "hostnames", hostlist).split()
    assert expand(hostlist) == slurms, hostlist
