"""What an analysis runs: a request checked before it is queued (so that a bad one is refused with its reason,
not failed later), and the run itself in a worker process (`neocloud analysis work`), which the server
starts when work is queued. A server reads only what its callers may name: traces from within its traces
folder, packaged fleets or uniform clusters."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from neocloud.adapters.replay_power import ReplayPower, budget_kept, capped, replay_budget
from neocloud.adapters.traces.loader import FORMATS, OPTIONS, trace_options, trace_path
from neocloud.app import analyses
from neocloud.app.ports import UnitOfWork
from neocloud.app.records import Analysis
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput, InvalidSpec, NeocloudError, quoted

MAX_SCENARIO = 64 * 1024  # bytes of an uploaded scenario
MAX_JOBS = 200_000  # jobs of a synthetic trace
MAX_RUNS = 12  # simulations of one comparison (policies x placements)
UNIFORM = re.compile(r"uniform:(\d{1,6})x(\d{1,2})")
POOLED_FLEET = re.compile(r"pooled:(\d{1,7})(?:,cpus=(\d{1,9}))?")
MAX_UNIFORM_GPUS = 200_000
HEARTBEAT_S = 2.0  # how often a long step tells the store it is alive
UowFactory = Callable[[], AbstractContextManager[UnitOfWork]]


@dataclass(frozen=True, slots=True)
class Checked:
    kind: str
    title: str
    request: dict[str, Any]
    steps: int


def check_scenario(text: str | None, title: str, traces: Path) -> Checked:
    """The default scenario (no text) or an uploaded one over it, loaded as the run will load it."""
    from neocloud.adapters.scenario_spec import load_scenario
    from neocloud.sim.portfolio import factors, portfolio_asks
    from neocloud.sim.scenario import asks, operation_key
    from neocloud.sim.uncertainty import simulated_shares

    if text is not None and len(text.encode()) > MAX_SCENARIO:
        raise InvalidInput(f"a scenario is at most {MAX_SCENARIO // 1024} KiB", field="scenario")
    loaded = load_scenario(traces=traces, text=text or None, confined=True)
    name = title.strip() or f"scenario {loaded.scenario.name}" + (" (uploaded)" if text else " (default)")
    s = loaded.scenario
    wanted = [*asks(s, loaded.swing), *(portfolio_asks(s, loaded.portfolio) if loaded.portfolio else ())]
    steps = len({operation_key(s, a) for a in wanted}) + 2  # reading, each simulation, the report
    u = loaded.uncertainty
    if u.paths:  # at most this many more simulations (the futures' demands), their pricing and the best mix
        steps += len(simulated_shares(loaded.scenario, u)) * (u.demand_points + 1) + 2
        if loaded.portfolio is not None:  # the sites' factors at each demand, and their pricing
            steps += len(factors(s, loaded.portfolio)) * (u.demand_points + 1) + 1
    return Checked("scenario", name, {"scenario": text or ""}, steps)


def check_comparison(
    trace: str,
    fleet: str,
    policies: list[str],
    placements: list[str],
    seed: int,
    title: str,
    traces: Path,
    tiresias: tuple[list[int], float] = ([3250, 7200], 0.0),
    power: ReplayPower | None = None,
    catalog: Catalog | None = None,
    caps: tuple[Mapping[str, int], str] = ({}, "training"),
) -> Checked:
    """Policies side by side on one trace and cluster: every name known, the trace readable, the work bounded;
    with `power`, the fleet's site power kept in every run (a packaged fleet with a budget, and orderings that
    do not share GPUs); with `caps` (watts by GPU model, and the kind of work they slow), the fleet's GPUs
    capped in every run (a fleet with GPU models, each cap within its model's range)."""
    from neocloud.core.engine.ordering import ORDERINGS
    from neocloud.core.engine.placement import PLACEMENTS
    from neocloud.core.engine.pooled import POOLED

    kind, _, where = trace.partition(":")
    if kind not in FORMATS:
        raise InvalidInput(f"trace {quoted(trace)}: use FORMAT:PATH, FORMAT one of {', '.join(FORMATS)}", field="trace")
    if kind == "synthetic":
        count = where.split(",", 1)[0]
        if not count.isdigit() or not 1 <= int(count) <= MAX_JOBS:
            raise InvalidInput(f"a synthetic trace has 1 to {MAX_JOBS:,} jobs: synthetic:N[,...]", field="trace")
    else:
        path, options = _file_and_options(kind, where)
        trace_options(kind, options, trace)
        if not trace_path(path, traces, confined=True).is_file():
            raise InvalidSpec(f"trace {quoted(path)} is not a file in the traces folder", field="trace")
    pooled = _check_fleet(fleet)
    placing = [POOLED] if pooled else list(PLACEMENTS)
    for names, known, what in ((policies, list(ORDERINGS), "ordering"), (placements, placing, "placement")):
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise InvalidInput(
                f"unknown {what} {', '.join(unknown) or '(none)'}; known: {', '.join(known)}", field=what
            )
    if len(policies) * len(placements) > MAX_RUNS:
        raise InvalidInput(f"at most {MAX_RUNS} simulations (policies x placements) per comparison", field="policies")
    name = title.strip() or f"{', '.join(policies)} on {trace}"
    from neocloud.core.engine.tiresias import Tiresias

    queues, starvation = tiresias
    Tiresias(tuple(queues), starvation)  # refused here, not in the worker
    request = {"trace": trace, "fleet": fleet, "policies": policies, "placements": placements, "seed": seed}
    request["tiresias"] = {"queues": list(queues), "starvation": starvation}
    wanted, work = caps
    if wanted:
        from neocloud.adapters.specs import load_catalog

        capped([], fleet, catalog or load_catalog(), wanted, work)  # refused here, not in the worker
        request["caps"] = {"caps_w": dict(wanted), "kind": work}
    if power is not None:
        power = replace(power, caps=dict(wanted), kind=work)
        _check_power(power, fleet, policies, catalog)
        request["power"] = power_request(power)
    return Checked("comparison", name[:200], request, len(policies) * len(placements))


def _check_power(power: ReplayPower, fleet: str, policies: list[str], catalog: Catalog | None) -> None:
    """Refused here, not in the worker: rates at or below 0, a bad curtailment, a fleet with no budget, an
    ordering that shares GPUs (a budget counts each GPU once)."""
    from neocloud.adapters.specs import load_catalog
    from neocloud.core.engine.ordering import ORDERINGS

    for name, rate in (("ramp_mw_per_s", power.ramp_mw_per_s), ("fall_mw_per_s", power.fall_mw_per_s)):
        if rate is not None and rate <= 0:
            raise InvalidInput(f"power.{name} is above 0 MW a second", field=name)
    sharing = [p for p in policies if ORDERINGS[p].interleave]
    if sharing:
        raise InvalidInput(f"a power budget cannot be kept by {', '.join(sharing)}: they share GPUs", field="power")
    replay_budget([], fleet, catalog or load_catalog(), power)  # the fleet's budget and every curtailment


def power_request(power: ReplayPower) -> dict[str, Any]:
    """A replay's power as a stored request keeps it (JSON), and as `replay_power` reads it back."""
    return {
        "curtailments": [[str(d), start, seconds] for d, start, seconds in power.curtailments],
        "ramp_mw_per_s": None if power.ramp_mw_per_s is None else str(power.ramp_mw_per_s),
        "fall_mw_per_s": None if power.fall_mw_per_s is None else str(power.fall_mw_per_s),
        "capping": power.capping,
    }


def replay_power(stored: dict[str, Any], caps: dict[str, Any] | None = None) -> ReplayPower:
    """The stored power back, with the request's static caps (`caps`: watts by model and the kind of work)."""

    def rate(key: str) -> Decimal | None:
        return None if stored[key] is None else Decimal(stored[key])

    cuts = tuple((Decimal(d), int(start), int(seconds)) for d, start, seconds in stored["curtailments"])
    asked = ReplayPower(cuts, rate("ramp_mw_per_s"), rate("fall_mw_per_s"), bool(stored["capping"]))
    return asked if caps is None else replace(asked, caps=caps["caps_w"], kind=caps["kind"])


def _file_and_options(kind: str, where: str) -> tuple[str, str]:
    """A trace spec's file, and the options after it (for formats that have them)."""
    path, _, options = where.partition(",") if kind in OPTIONS else (where, "", "")
    return path, options


def _check_fleet(fleet: str) -> bool:
    """Whether the fleet is a pooled cluster (no nodes: its placement is `pooled`); refused when unknown."""
    from importlib import resources

    pooled = POOLED_FLEET.fullmatch(fleet)
    if pooled is not None:
        if 1 <= int(pooled.group(1)) <= MAX_UNIFORM_GPUS and int(pooled.group(2) or 1) >= 1:
            return True
        raise InvalidInput(f"a pooled cluster has 1 to {MAX_UNIFORM_GPUS:,} GPUs (and CPUs, when given)", field="fleet")
    match = UNIFORM.fullmatch(fleet)
    if match is not None:
        nodes, gpus = (int(g) for g in match.groups())
        if nodes and gpus and nodes * gpus <= MAX_UNIFORM_GPUS:
            return False
        raise InvalidInput(f"a uniform cluster has 1 to {MAX_UNIFORM_GPUS:,} GPUs", field="fleet")
    if "/" in fleet or not resources.files("neocloud").joinpath(f"fleets/{fleet}.yaml").is_file():
        raise InvalidInput(
            f"fleet {quoted(fleet)}: use uniform:NODESxGPUS, pooled:GPUS[,cpus=N] or a packaged fleet", field="fleet"
        )
    return False


# The worker ---------------------------------------------------------------------------------------------


def work(uow: UowFactory, clock: Callable[[], int], traces: Path, catalog: Catalog) -> int:
    """Run queued analyses one after another until none waits; how many ran."""
    ran = 0
    while True:
        with uow() as tx:
            analysis = analyses.claim(tx, clock())
        if analysis is None:
            return ran
        ran += 1
        beat = _Heartbeat(uow, clock, analysis.id)
        try:
            result, report = _run(analysis, traces, catalog, beat)
        except NeocloudError as refused:
            with uow() as tx:
                analyses.fail(tx, analysis.id, refused.message, clock())
        except Exception as crash:  # a run's failure is its own, never the worker's
            with uow() as tx:
                analyses.fail(tx, analysis.id, f"internal error: {type(crash).__name__}: {crash}", clock())
        else:
            with uow() as tx:
                analyses.finish(tx, analysis.id, result, report, clock())


class _Heartbeat:
    """Progress to the store: every step, and within a long step at most every HEARTBEAT_S."""

    def __init__(self, uow: UowFactory, clock: Callable[[], int], analysis_id: str) -> None:
        self.uow, self.clock, self.id, self.last = uow, clock, analysis_id, 0.0

    def __call__(self, step: str, done: int, *, often: bool = False) -> None:
        if often and time.monotonic() - self.last < HEARTBEAT_S:
            return
        self.last = time.monotonic()
        with self.uow() as tx:
            analyses.progress(tx, self.id, step, done, self.clock())


def _run(analysis: Analysis, traces: Path, catalog: Catalog, beat: _Heartbeat) -> tuple[dict[str, Any], str | None]:
    if analysis.kind == "scenario":
        return _scenario(analysis.request, traces, beat)
    return _comparison(analysis.request, traces, catalog, beat), None


def _scenario(request: dict[str, Any], traces: Path, beat: _Heartbeat) -> tuple[dict[str, Any], str]:
    from neocloud.adapters.scenario_paths import run_loaded
    from neocloud.adapters.scenario_report import decision_text, render_html, result_json
    from neocloud.adapters.scenario_spec import load_scenario
    from neocloud.app.views import plain

    beat("reading the scenario", 0)
    loaded = load_scenario(traces=traces, text=request["scenario"] or None, confined=True)
    simulated = 0

    def progress(what: str, done: int, of: int) -> None:
        nonlocal simulated
        if what == "simulated":
            simulated = done
            beat(f"simulated {done} of {of}", done)
        elif what == "priced":
            beat(f"priced {done:,} of {of:,} possible futures", simulated + 1, often=True)
        else:
            beat(f"{what} over {of:,} possible futures", simulated + 2)

    result, odds = run_loaded(loaded, progress=progress)
    beat("writing the report", simulated + (3 if odds else 1))
    data = plain(result_json(loaded, result, uncertain=odds))
    data["decision"]["text"] = decision_text(result)
    return json.loads(json.dumps(data)), render_html(loaded, result, uncertain=odds)


def _comparison(request: dict[str, Any], traces: Path, catalog: Catalog, beat: _Heartbeat) -> dict[str, Any]:
    from neocloud.adapters.clusters import load_cluster
    from neocloud.adapters.traces.loader import load_trace
    from neocloud.core.engine.config import EngineConfig
    from neocloud.core.engine.tiresias import Tiresias
    from neocloud.sim.simulator import simulate

    kind, _, where = request["trace"].partition(":")
    path, options = _file_and_options(kind, where)
    spec = request["trace"] if kind == "synthetic" else f"{kind}:{trace_path(path, traces, confined=True)}"
    spec += f",{options}" if options else ""
    beat("reading the trace", 0)
    jobs = load_trace(spec).jobs
    caps = request.get("caps")  # watts by model and the kind of work: the same in every run
    shown = None
    if caps is not None:
        jobs, shown = capped(jobs, request["fleet"], catalog, caps["caps_w"], caps["kind"])
    runs = [(o, p) for o in request["policies"] for p in request["placements"]]
    results = []
    for i, (ordering, placement) in enumerate(runs):
        label = f"{ordering}/{placement}"
        beat(f"simulating {label}", i)

        def each(n: int, label: str = label, i: int = i) -> None:
            beat(f"{label}: {n:,} of {len(jobs):,} jobs", i, often=True)

        cluster = load_cluster(request["fleet"], catalog, seed=request["seed"])
        tiresias = request.get("tiresias", {"queues": [3250, 7200], "starvation": 0.0})
        config = EngineConfig(
            ordering, placement, request["seed"], tiresias=Tiresias(tuple(tiresias["queues"]), tiresias["starvation"])
        )
        budget = None
        if request.get("power") is not None:
            asked = replay_power(request["power"], caps)
            budget, kept = replay_budget(jobs, request["fleet"], catalog, asked)
        result = simulate(jobs, cluster, config, progress=each, power=budget)
        found = result.to_dict()
        if budget is not None:
            found["budget"] = kept | budget_kept(result, budget)
        results.append(found)
    found = {"trace": request["trace"], "fleet": request["fleet"], "jobs": len(jobs), "results": results}
    return found if shown is None else found | {"caps": shown}


# Starting workers ---------------------------------------------------------------------------------------


class Launcher:
    """Starts a worker process when work is queued and none of this server's is running."""

    def __init__(self, env: dict[str, str], enabled: bool = True) -> None:
        self.env, self.enabled = env, enabled
        self.process: subprocess.Popen[bytes] | None = None

    def ensure(self) -> None:
        if not self.enabled or (self.process is not None and self.process.poll() is None):
            return
        command = [sys.executable, "-m", "neocloud", "analysis", "work"]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
