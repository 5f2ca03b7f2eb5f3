"""Slurm through its commands: `sinfo --json` for nodes, `scontrol` for reservations and node states,
`sacctmgr` for accounts. The commands, not slurmrestd: they come with every Slurm installation, need no
daemon of their own (slurmrestd refuses to run as root and needs its own authentication set up), and what
they print is stable enough to read (JSON where 22.05 has it, `scontrol -o`'s one line per record where it
has not). Every call has a timeout: a slow or absent Slurm is an error neocloud reports and retries, never a
hang."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from neocloud.adapters.slurm.hostlist import expand as hostlist_expand
from neocloud.app.ports import ManagedNode, ManagedReservation, ManagedRun
from neocloud.core.errors import WorkloadManagerUnavailable
from neocloud.core.nodes import NodeState

# sinfo's base states and flags, in neocloud's states (the first that applies).
DOWN_FLAGS = {"NOT_RESPONDING", "FAIL", "FAILING", "POWERED_DOWN"}
ENDED = "CD,F,CA,TO,NF,PR,OOM,BF,DL"  # sacct's states of jobs that have ended
SPOT_QOS = "neocloud-spot"  # the QOS spot work runs in: any other work preempts it


@dataclass(frozen=True, slots=True)
class SlurmNode:
    """A node with GPUs as Slurm configures it: `gpu_type` is its GRES type ("" when the GRES has none)."""

    name: str
    gpu_type: str
    gpus: int
    cpus: int
    memory_gib: int


@dataclass(frozen=True, slots=True)
class SlurmCli:
    """`conf`: the cluster's slurm.conf (SLURM_CONF); None: the machine's own."""

    conf: Path | None = None
    timeout_s: float = 10.0

    def run(self, *command: str) -> str:
        env: Mapping[str, str] = os.environ if self.conf is None else {**os.environ, "SLURM_CONF": str(self.conf)}
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WorkloadManagerUnavailable(f"{command[0]}: {exc}", command=command[0]) from None
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise WorkloadManagerUnavailable(
                f"{shlex.join(command[:3])}: {said[-1] if said else f'exit {done.returncode}'}", command=command[0]
            )
        return done.stdout

    # -- accounts --

    def accounts(self) -> set[str]:
        return set(self.run("sacctmgr", "-n", "-P", "list", "account", "format=account").split())

    def add_account(self, name: str) -> None:
        """The account, the user neocloud submits as in it (tenants' work is submitted under their account),
        and that user's right to the spot QOS there. Adding what is there already changes nothing."""
        self._spot_qos()
        self._add("account", name)
        self._add("user", _user(), f"account={name}")
        self.run(
            "sacctmgr", "-i", "modify", "user", "where", f"name={_user()}", f"account={name}", "set", f"qos+={SPOT_QOS}"
        )

    def _spot_qos(self) -> None:
        """Spot work's QOS: cancelled (and so PREEMPTED in accounting) when work of the default QOS needs its
        GPUs (PreemptType=preempt/qos in slurm.conf)."""
        self._add("qos", SPOT_QOS, "set", "PreemptMode=cancel")
        self.run("sacctmgr", "-i", "modify", "qos", "where", "name=normal", "set", f"preempt+={SPOT_QOS}")

    def _add(self, *entity: str) -> None:
        try:
            self.run("sacctmgr", "-i", "add", *entity)
        except WorkloadManagerUnavailable as exc:  # sacctmgr says so with an error status
            if "Nothing new added" not in exc.message:
                raise

    # -- reservations --

    def reservations(self) -> dict[str, ManagedReservation]:
        found = {}
        for line in self.run("scontrol", "show", "reservation", "-o").splitlines():
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            if "ReservationName" not in fields:
                continue
            name = fields["ReservationName"]
            found[name] = ManagedReservation(
                name,
                _nodes(fields.get("Nodes", "")),
                frozenset(a for a in fields.get("Accounts", "").split(",") if a and a != "(null)"),
                _seconds(fields["EndTime"]),
            )
        return found

    def reserve(self, reservation: ManagedReservation, now: int) -> None:
        self.run(
            "scontrol", "create", "reservation", f"ReservationName={reservation.name}",
            f"Accounts={','.join(sorted(reservation.accounts))}", f"Nodes={','.join(sorted(reservation.nodes))}",
            "StartTime=now", f"EndTime={_iso(reservation.end)}", "Flags=IGNORE_JOBS",
        )  # fmt: skip

    def update(self, reservation: ManagedReservation) -> None:
        self.run(
            "scontrol", "update", f"ReservationName={reservation.name}",
            f"Nodes={','.join(sorted(reservation.nodes))}", f"EndTime={_iso(reservation.end)}",
        )  # fmt: skip

    def release(self, name: str) -> None:
        self.run("scontrol", "delete", f"ReservationName={name}")

    # -- nodes --

    def nodes(self) -> dict[str, ManagedNode]:
        found = {}
        for node in json.loads(self.run("sinfo", "--json"))["nodes"]:
            flags = set(node.get("state_flags") or ())
            base = str(node.get("state", "")).upper()
            if base in ("DOWN", "FUTURE", "UNKNOWN") or flags & DOWN_FLAGS:
                state = NodeState.DOWN
            elif "MAINTENANCE" in flags:
                state = NodeState.MAINTENANCE
            elif "DRAIN" in flags:
                state = NodeState.DRAINING
            else:
                state = NodeState.UP
            since = node.get("reason_changed_at") or None
            found[node["name"]] = ManagedNode(node["name"], state, node.get("reason") or "", since)
        return found

    def gpu_nodes(self) -> list[SlurmNode]:
        """Every node with GPUs, as `sinfo --json` describes it (GRES `gpu[:type]:count[(S:...)]`)."""
        found = []
        for node in json.loads(self.run("sinfo", "--json"))["nodes"]:
            for item in (node.get("gres") or "").split(","):
                kind, _, rest = item.partition("(")[0].partition(":")
                *gpu_type, count = rest.split(":") if rest else [""]
                if kind == "gpu" and count.isdigit() and int(count) > 0:
                    memory_gib = int(node.get("real_memory") or 0) // 1024
                    found.append(
                        SlurmNode(node["name"], ":".join(gpu_type), int(count), int(node.get("cpus") or 0), memory_gib)
                    )
        return found

    def drain(self, node: str, reason: str) -> None:
        self.run("scontrol", "update", f"NodeName={node}", "State=DRAIN", f"Reason={reason or 'neocloud'}")

    def resume(self, node: str) -> None:
        self.run("scontrol", "update", f"NodeName={node}", "State=RESUME")

    # -- jobs --

    def active_jobs(self) -> dict[str, dict[str, Any]]:
        """Jobs not ended yet, by name (the latest of a name), as squeue reports them."""
        jobs = json.loads(self.run("squeue", "--json"))["jobs"]
        return {j["name"]: j for j in sorted(jobs, key=lambda j: int(j["job_id"]))}

    def ended_jobs(self, since: int, until: int) -> list[ManagedRun]:
        """Jobs (allocations, not their steps) that ran and ended within [since, until], from accounting.
        22.05's JSON gives a reservation's id but not its name: the name comes from sacct's text."""
        window = ("-X", "-a", "-S", _iso(since), "-E", _iso(until), "-s", ENDED)
        jobs = json.loads(self.run("sacct", "--json", *window))["jobs"]
        text = self.run("sacct", "-n", "-P", "--format=JobID,Reservation", *window) if jobs else ""
        names = dict(line.split("|", 1) for line in text.splitlines() if "|" in line)
        runs = []
        for j in jobs:
            start, end = int(j["time"]["start"] or 0), int(j["time"]["end"] or 0)
            if not start or not since <= end <= until:
                continue  # cancelled before it started, or outside the window
            if not j["partition"]:
                # slurmdbd heard of the job's end before its start: a stand-in record (named "allocation", no
                # partition, its nodes and start not yet the job's). A later pass reads the job whole.
                continue
            tres = j["tres"]["allocated"]
            gpus = sum(int(t.get("count") or 0) for t in tres if (t.get("type"), t.get("name")) == ("gres", "gpu"))
            job_id = str(j["job_id"])
            state = j["state"]["current"]
            reservation = names.get(job_id, "")
            nodes = _nodes(j.get("nodes") or "")
            runs.append(ManagedRun(job_id, j["name"], j["account"], reservation, start, end, gpus, state, nodes))
        return runs

    def submit(self, *args: str) -> str:
        """sbatch with these options; the job's id."""
        return self.run("sbatch", "--parsable", *args).strip().split(";")[0]

    def cancel(self, name: str) -> None:
        self.run("scancel", f"--name={name}")


def _nodes(hostlist: str) -> frozenset[str]:
    try:
        return frozenset(hostlist_expand(hostlist))
    except ValueError as exc:
        raise WorkloadManagerUnavailable(f"Slurm wrote a host list neocloud cannot read: {exc}") from None


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


# scontrol reads and writes times in the machine's local time, without a zone.
def _iso(t: int) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def is_file(path: str) -> bool:
    """Whether a file is there; a path no file can have (too long, a NUL in it) is none."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False
