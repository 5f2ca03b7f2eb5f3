"""Interleaving: jobs whose bottlenecks differ share the same GPUs and take turns on each resource, as Muri
(SIGCOMM'22) schedules them. A training iteration passes through stages (the Muri traces give three: storage,
CPU, GPU), and while one job computes on the GPUs another can load or preprocess, so a group of up to four
jobs of one shape finishes its iterations in less time than the jobs would one after another.

The model is the one the Muri artifact's simulator uses (`simulator/matching.py` and `jobs.py`), which
produced its published figures:

- A group runs as a pipeline of four slots: in each step one job does its third stage, the next its second,
  and the one after that is halfway through its first, which spans two steps. A step ends when all three
  are done; the group's cycle (one iteration of every member) is the steady period of four steps, in the
  best order of the members. Two jobs may instead overlap one's first stage with the other's last two.
  Jobs with other numbers of stages take one stage each per slot, in turn.
- Sharing costs: the cycle is stretched by 1.33 / 1.015, 1.5 / 1.015 and 1.37 / 1.015 for two, three and
  four jobs (the artifact's measured interleaving overheads, applied to the raw stage times).
- Each member advances one iteration per cycle: its pace (wall seconds per second of its work) is the
  cycle over its own iteration time.

`plan` chooses the groups at a decision (see there); the scheduler keeps groups that are already running as
planned, and stops and restarts the others.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import islice, permutations

import networkx as nx

from neocloud.core.engine.state import JobState
from neocloud.core.engine.waiting import Key, ShapeQueue, Walk
from neocloud.core.workload import MILLI, Job

MAX_GROUP = 4  # jobs sharing one set of GPUs (the artifact's packing_num)
STRETCH = {1: 1.0, 2: 1.33 / 1.015, 3: 1.5 / 1.015, 4: 1.37 / 1.015}  # a group's cycle for its size


def _pipeline(order: Sequence[tuple[float, ...]]) -> float:
    """Steady cycle of three-stage jobs in this order in the four-slot pipeline (module doc)."""
    n = len(order)
    ends = [0.0] * 9  # ends[t]: when step t ends; two cycles are enough to settle (or are taken as they are)
    for t in range(1, 9):
        end = 0.0
        if t % 4 < n:
            end = max(end, ends[t - 1] + order[t % 4][2])
        if (t + 1) % 4 < n:
            end = max(end, ends[t - 1] + order[(t + 1) % 4][1])
        if t >= 2 and (t + 2) % 4 < n:
            end = max(end, ends[t - 2] + order[(t + 2) % 4][0])
        ends[t] = end
        period = ends[t] - ends[t - 4] if t >= 4 else 0.0
        if t >= 5 and period > 0 and math.isclose(period, ends[t - 1] - ends[t - 5], rel_tol=1e-3):
            return period
    return ends[8] - ends[4]


def _turns(order: Sequence[tuple[float, ...]]) -> float:
    """Cycle of m-stage jobs taking one stage each per slot: slot i holds stage (i - j) mod m of the j-th."""
    m = len(order[0])
    return sum(max(stages[(i - j) % m] for j, stages in enumerate(order)) for i in range(m))


@lru_cache(maxsize=1 << 16)
def _best_cycle(members: tuple[tuple[float, ...], ...]) -> float:
    """A group's cycle before the sharing stretch, in the best order; inf when they cannot interleave."""
    width = len(members[0])
    if any(len(s) != width for s in members) or (width != 3 and len(members) > width):
        return math.inf
    cycle = _pipeline if width == 3 else _turns
    best = min(cycle(order) for order in permutations(members))
    if len(members) == 2 and width == 3:
        a, b = members
        best = min(best, max(a[0], b[1] + b[2]) + max(b[0], a[1] + a[2]))
    return best if best > 0 else math.inf


def cycle(jobs: Sequence[Job]) -> float:
    """Wall seconds for one iteration of every job in the group (a job alone: its own iteration time)."""
    if len(jobs) == 1:
        return jobs[0].iteration
    if not all(j.stages for j in jobs) or len(jobs) > MAX_GROUP:
        return math.inf
    return _best_cycle(tuple(sorted(j.stages for j in jobs))) * STRETCH[len(jobs)]


def utilisation(members: tuple[tuple[float, ...], ...]) -> float:
    """Share of a group's resource-time its members' stages (one tuple each) keep busy: the matching's weight.
    0 for a job alone, a group too large, or a member without stage times."""
    if not 2 <= len(members) <= MAX_GROUP or not all(members):
        return 0.0
    turn = _best_cycle(tuple(sorted(members))) * STRETCH[len(members)]
    slots = 4 if len(members[0]) == 3 else len(members[0])
    return sum(sum(stages) for stages in members) / (turn * slots) if math.isfinite(turn) else 0.0


def paces(group: Sequence[JobState]) -> list[float]:
    """Each member's wall seconds per second of its work in this group."""
    if len(group) == 1:
        return [1.0]
    turn = cycle([s.job for s in group])
    return [turn / s.job.iteration for s in group]


Group = tuple[JobState, ...]
Shape = tuple[object, ...]
Keyed = tuple[Key, JobState]


class Ranking:
    """Every job that may run, best first, as (rank key, job), read only as far as a plan needs: running jobs
    ranked at the decision, merged with the waiting ones, which stand in a ShapeQueue (their keys stand still
    while they wait) or in a list ranked with them. A plan reads each shape's jobs from its front too, and
    passes over the rest of a shape too large for what is left, so with a queue it costs what fits, not the
    backlog."""

    def __init__(self, ranked: list[Keyed], waiting: ShapeQueue | None = None, now: int = 0) -> None:
        """`ranked`: (rank key, job) best first, the running jobs (and, without a queue, the waiting ones too)."""
        self._ranked, self._waiting, self._now = ranked, waiting, now
        self._walk: Walk | None = None
        self._shaped: dict[Shape, list[Keyed]] = {}
        for keyed in ranked:
            self._shaped.setdefault(keyed[1].job.resources, []).append(keyed)

    @classmethod
    def of(cls, states: Iterable[JobState]) -> Ranking:
        """Jobs already in rank order, each keyed by its place."""
        return cls([((place,), s) for place, s in enumerate(states)])

    def __iter__(self) -> Iterator[Keyed]:
        if self._waiting is None:
            return iter(self._ranked)
        self._walk = self._waiting.walk(self._now)
        return heapq.merge(self._ranked, self._walk.keyed())

    def skip(self, shape: Shape) -> None:
        """Pass over the rest of a shape's waiting jobs."""
        if self._walk is not None:
            self._walk.skip(shape)

    def of_shape(self, shape: Shape) -> Iterator[Keyed]:
        """One shape's jobs, best first."""
        ranked = self._shaped.get(shape, [])
        if self._waiting is None:
            return iter(ranked)
        return heapq.merge(ranked, self._waiting.of_shape(shape, self._now).keyed())


def plan(ranking: Ranking | Sequence[JobState], budget: int, quotas: Mapping[str, int] | None = None) -> list[Group]:
    """The groups to run, in the order to place them (most GPUs first, then best ranked), given every job
    that may run ranked best first and the milli-GPUs they may hold. The artifact's rules:

    1. Walk the ranking; each job that fits what is left of the budget (and its tenant's quota) takes a share
       of GPUs for itself and for the next three jobs of its shape, which become candidates with it.
    2. While the candidates need more GPUs than the budget, pair groups of each shape by a maximum-weight
       matching on utilisation (groups of at most four jobs; up to four rounds), and merge matched pairs in
       order until they fit.
    3. Split a group whose cycle is longer than its members' iterations one after another.
    4. Groups in order of their best-ranked member take GPUs while they fit the budget (and their tenants'
       quotas, which count every job's GPUs, shared or not).
    """
    if not isinstance(ranking, Ranking):
        ranking = Ranking.of(ranking)
    # Each shape's candidates: a prefix of its jobs in rank order, read from the front of the shape
    taken: dict[Shape, list[Keyed]] = {}
    fronts: dict[Shape, Iterator[Keyed]] = {}
    rank: dict[int, Key] = {}  # each candidate's rank key
    left, granted = budget, dict[str, int]()
    for _, s in ranking:
        if left <= 0:
            break  # nothing more fits (every job needs some GPU)
        if id(s) in rank:
            continue  # already a candidate
        milli, tenant, shape = s.job.milli, s.job.tenant, s.job.resources
        if milli > left:
            ranking.skip(shape)  # no job of its shape fits what is left, which only shrinks
            continue
        cap = quotas.get(tenant) if quotas else None
        if cap is not None and granted.get(tenant, 0) + milli > cap * MILLI:
            continue
        left -= milli
        granted[tenant] = granted.get(tenant, 0) + milli
        if shape not in fronts:
            fronts[shape] = ranking.of_shape(shape)
        for key, candidate in islice(fronts[shape], MAX_GROUP):
            taken.setdefault(shape, []).append((key, candidate))
            rank[id(candidate)] = key
    # Shapes in the order of their best-ranked jobs (the first of each prefix): merging goes shape by shape
    groups: dict[Shape, list[Group]] = {
        shape: [(s,) for _, s in taken[shape]] for shape in sorted(taken, key=lambda shape: taken[shape][0][0])
    }
    needed = sum(g[0].job.milli for shaped in groups.values() for g in shaped)
    for _ in range(MAX_GROUP):
        if needed <= budget:
            break
        paired = {shape: _matched(shaped) for shape, shaped in groups.items()}
        if all(len(pairs) == len(groups[shape]) for shape, pairs in paired.items()):
            break  # nothing paired (no two groups can share): every later round would find the same
        groups = {}
        for shape, pairs in paired.items():
            groups[shape] = []
            for pair in pairs:
                if len(pair) == 2 and needed > budget:
                    groups[shape].append(pair[0] + pair[1])
                    needed -= pair[0][0].job.milli
                else:
                    groups[shape].extend(pair)
    kept: list[Group] = []
    for merged in groups.values():
        for group in merged:
            alone = sum(s.job.iteration for s in group)
            if len(group) > 1 and cycle([s.job for s in group]) > alone:
                kept.extend((s,) for s in group)
            else:
                kept.append(group)
    kept.sort(key=lambda g: min(rank[id(s)] for s in g))
    admitted: list[Group] = []
    left, granted = budget, {}
    for group in kept:
        asks: dict[str, int] = {}
        for s in group:
            asks[s.job.tenant] = asks.get(s.job.tenant, 0) + s.job.milli
        within = not quotas or all(
            granted.get(t, 0) + milli <= quotas[t] * MILLI for t, milli in asks.items() if t in quotas
        )
        if group[0].job.milli <= left and within:
            left -= group[0].job.milli
            for t, milli in asks.items():
                granted[t] = granted.get(t, 0) + milli
            admitted.append(group)
    admitted.sort(key=lambda g: (-g[0].job.milli, min(rank[id(s)] for s in g)))
    return admitted


def _matched(shaped: list[Group]) -> list[tuple[Group, ...]]:
    """Groups of one shape after one round of matching, in the artifact's order: each pair where its later
    member stood, each unmatched group where it stood."""
    # A group that must be able to split (a job that cannot be preempted runs alone) or lacks stage times
    # has no edges. The matching depends on the groups' stage times alone, and the same few kinds of job
    # recur, so it is remembered by them.
    kinds = tuple(
        tuple(s.job.stages for s in g) if all(s.job.stages and s.job.preemptible for s in g) else () for g in shaped
    )
    partner = _partners(kinds)
    out: list[tuple[Group, ...]] = []
    for u, group in enumerate(shaped):
        match = partner.get(u)
        if match is None:
            out.append((group,))
        elif match < u:
            out.append((shaped[match], group))
    return out


@lru_cache(maxsize=4096)
def _partners(kinds: tuple[tuple[tuple[float, ...], ...], ...]) -> dict[int, int]:
    """A maximum-weight matching of groups (each by its members' stage times; () for none), weighted by the
    utilisation of each pair that would make a group of at most four: each matched group's partner."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(kinds)))
    for u, mine in enumerate(kinds):
        for v in range(u + 1, len(kinds)):
            theirs = kinds[v]
            if mine and theirs:
                weight = utilisation(mine + theirs)
                if weight > 0:
                    graph.add_edge(u, v, weight=weight)
    partner: dict[int, int] = {}
    for x, y in nx.max_weight_matching(graph):
        partner[x], partner[y] = y, x
    return partner
