"""Work on Slurm: the live engine's decisions carried out with `sbatch` pinned to the nodes the engine chose
(`--nodelist`, `-N`, `--gres=gpu:N`), in the contract's reservation where it has one and under the tenant's
account; halts are `scancel`; the end and its outcome come from Slurm (squeue while it runs, sacct once it has
ended). Spot work runs in QOS `neocloud-spot`, which Slurm preempts for any other work (a tenant's own job
included): such a run ends PREEMPTED and its workload waits for the engine again. A job's name is its
workload's id, so that every job neocloud launched can be told apart. Usage is metered from Slurm's accounting
(app/accounting.py), not by the engine: real start and end, GPUs from TRES. Slurm's clock and neocloud's are
taken to agree (NTP): a run belongs to a launch if it started no earlier than the launch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neocloud.adapters.slurm.cli import SPOT_QOS, SlurmCli
from neocloud.app.ports import ManagedRun, RunEnd
from neocloud.app.records import StoredWorkload
from neocloud.core.workload import PriorityClass

SUCCEEDED = {"COMPLETED"}
OUTCOMES = {"PREEMPTED": RunEnd.PREEMPTED}  # spot work Slurm stopped for others' (SPOT_QOS): it waits again
ENDED = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
}
LOOK_BACK = 86_400  # how far back accounting is read for the ends of work that ran


@dataclass
class SlurmExecutor:
    slurm: SlurmCli
    meters_itself: bool = True  # usage comes from sacct
    caps_power: bool = False  # it sets no GPU's power limit: under a shrinking budget its work is stopped
    shares_gpus: bool = False  # Slurm gives each job's GPUs to it alone (gres/gpu): no interleaving
    _seen: int | None = None  # the `now` the snapshot below was taken at
    _active: dict[str, dict[str, Any]] = field(default_factory=dict)
    _reservations: set[str] = field(default_factory=set)
    _accounts: set[str] = field(default_factory=set)
    _ended: dict[str, list[ManagedRun]] | None = None

    def launch(self, workload: StoredWorkload, allocation: tuple[tuple[str, int], ...], now: int) -> None:
        self._look(now)
        job = workload.job
        nodes = sorted({node for node, _ in allocation})
        per_node = max(gpus for _, gpus in allocation)
        command = workload.command
        # The stand-in sleeps what is left of its declared duration, as the engine counts it (Slurm may have
        # started it late, so the engine's count can run out before Slurm's run does).
        run = command.run if command is not None else f"sleep {max(workload.remaining, 1)}"
        options = [
            f"--job-name={job.id}",
            f"--account={job.tenant}",
            f"--nodes={len(nodes)}",
            f"--nodelist={','.join(nodes)}",
            f"--gres=gpu:{per_node}",
            f"--output={command.output if command is not None and command.output else '/dev/null'}",
        ]
        if command is not None and command.workdir:
            options.append(f"--chdir={command.workdir}")
        if command is not None and command.env:
            options.append("--export=" + ",".join(["ALL", *(f"{k}={v}" for k, v in command.env)]))
        if workload.contract_id in self._reservations:
            options.append(f"--reservation={workload.contract_id}")
        if job.priority is PriorityClass.SPOT:
            options.append(f"--qos={SPOT_QOS}")
        if job.tenant not in self._accounts:  # made (or brought up to date) once per tenant per server
            self.slurm.add_account(job.tenant)
            self._accounts.add(job.tenant)
        self.slurm.submit(*options, "--wrap", run)

    def halt(self, workload: StoredWorkload, now: int) -> None:
        self.slurm.cancel(workload.job.id)

    def finished_by(self, workload: StoredWorkload, now: int) -> tuple[int, RunEnd] | None:
        """While Slurm has a job of its name queued or running, not yet; then its end from accounting (not
        before accounting has it: the next step looks again)."""
        self._look(now)
        if workload.job.id in self._active:
            return None
        if self._ended is None:  # once per step, and only when something may have ended
            self._ended = {}
            for run in self.slurm.ended_jobs(now - LOOK_BACK, now + 60):
                self._ended.setdefault(run.name, []).append(run)
        # This launch's run started no earlier than the launch (earlier runs of the workload were stopped).
        started = workload.started or 0
        ended = [r for r in self._ended.get(workload.job.id, []) if r.start >= started and r.state.split()[0] in ENDED]
        if not ended:
            return None
        last = max(ended, key=lambda r: (r.end, int(r.job_id)))
        state = last.state.split()[0]
        return last.end, RunEnd.SUCCEEDED if state in SUCCEEDED else OUTCOMES.get(state, RunEnd.FAILED)

    def _look(self, now: int) -> None:
        """What Slurm runs and reserves, once per engine step."""
        if self._seen == now:
            return
        self._active = {name: j for name, j in self.slurm.active_jobs().items() if j.get("job_state") not in ENDED}
        self._reservations = set(self.slurm.reservations())
        self._ended = None
        self._seen = now
