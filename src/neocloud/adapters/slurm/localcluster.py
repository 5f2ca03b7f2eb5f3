"""A real multi-node Slurm cluster on this one machine, for tests, benchmarks and trying neocloud in front of
Slurm: one `slurmctld`, one `slurmd` per node (every node's hostname is localhost, each on its own port),
`slurmdbd` keeping accounting in the local MariaDB, and a `munged` of its own, all under one folder, on free
ports, so that several can run side by side. GPUs are character devices made with mknod (Slurm refuses plain
files for a GPU's `File=`). Needs root, Debian's slurmctld, slurmd, slurm-client, slurmdbd and munge
packages, and MariaDB on 127.0.0.1:3306 with a password-less root. Cold start to idle nodes: a few seconds.

    python -m neocloud.adapters.slurm.localcluster start /tmp/slurm b-000-r00-n00 b-000-r00-n01 ...
    python -m neocloud.adapters.slurm.localcluster stop /tmp/slurm
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "slurmdbd", "munged", "sbatch", "sacctmgr", "scontrol", "sinfo")


def missing() -> str | None:
    """Why no local cluster can start here, or None."""
    absent = [d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if absent:
        packages = "slurmctld slurmd slurm-client slurmdbd munge"
        return f"Slurm is not installed (no {', '.join(absent)}): apt-get install {packages}"
    if os.geteuid() != 0:
        return "a local Slurm cluster runs its daemons as root"
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 3306)) != 0:
            return "no MariaDB on 127.0.0.1:3306 for Slurm's accounting"
    return None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class LocalSlurm:
    """The cluster under `folder`: `nodes` as (name, GPUs) pairs, named as neocloud's fleet names them."""

    folder: Path
    nodes: list[tuple[str, int]]
    cluster: str = ""
    gpu_type: str = "h100"
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()
        self.cluster = self.cluster or f"neo{os.getpid() % 100_000}{int(time.time() * 1000) % 100_000}"

    @property
    def conf(self) -> Path:
        return self.folder / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """The environment Slurm's commands need to reach this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60) -> None:
        """Write the configuration, start every daemon and wait until every node is idle."""
        names = ["ctld", "dbd", *(n for n, _ in self.nodes)]
        self.ports = dict(zip(names, _free_ports(len(names)), strict=True))
        for sub in ("state", "log", "dev", "munge", *(f"spool/{n}" for n, _ in self.nodes)):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        most = max(g for _, g in self.nodes)
        for i in range(most):
            device = self.folder / "dev" / f"nvidia{i}"
            if not device.exists():
                os.mknod(device, 0o666 | 0o020000, os.makedev(195, i))  # character device, as a GPU's is
        self._munge()
        self._write()
        deadline = time.monotonic() + timeout
        self._run(["slurmdbd"])
        self._until(lambda: self._listening(self.ports["dbd"]), deadline, "slurmdbd did not listen")
        self._run(["sacctmgr", "-i", "add", "cluster", self.cluster], check=False)
        self._run(["slurmctld", "-i"])
        self._until(lambda: self._run(["scontrol", "ping"], check=False).returncode == 0, deadline, "no slurmctld")
        for name, _ in self.nodes:
            self._run(["slurmd", "-N", name])
        self._until(self._all_idle, deadline, "the nodes did not become idle")

    def stop(self) -> None:
        """Stop every daemon by the PID it recorded (never by name: other clusters may run here), the nodes
        first and munge last."""
        files = [*sorted(self.folder.glob("slurmd-*.pid")), self.folder / "slurmctld.pid"]
        files += [self.folder / "slurmdbd.pid", self.folder / "munge" / "munged.pid"]
        for pid_file in files:
            try:
                pid = int(pid_file.read_text().strip())
                os.kill(pid, signal.SIGTERM)
            except (ValueError, OSError):
                continue
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)

    # -- the parts --

    def _munge(self) -> None:
        """A munged of this cluster's own, with its own key and socket."""
        munge = self.folder / "munge"
        key = munge / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
        shutil.chown(munge, "munge", "munge")
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
        self.folder.chmod(0o755)
        subprocess.run(
            [
                "runuser", "-u", "munge", "--", _which("munged"),
                f"--socket={munge / 'munge.sock'}", f"--key-file={key}", f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={munge / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}", "--force",
            ],
            check=True, capture_output=True, timeout=20,
        )  # fmt: skip

    def _write(self) -> None:
        d, p = self.folder, self.ports
        auth = f"AuthInfo=socket={d / 'munge' / 'munge.sock'}"
        lines = [
            f"ClusterName={self.cluster}",
            "SlurmctldHost=localhost",
            f"SlurmctldPort={p['ctld']}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            auth,
            f"StateSaveLocation={d / 'state'}",
            f"SlurmdSpoolDir={d / 'spool' / '%n'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}",
            f"SlurmdPidFile={d / 'slurmd-%n.pid'}",
            f"SlurmctldLogFile={d / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={d / 'log' / 'slurmd-%n.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/linux",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "GresTypes=gpu",
            "MpiDefault=none",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1",
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=localhost",
            f"AccountingStoragePort={p['dbd']}",
            f"AccountingStoragePass={d / 'munge' / 'munge.sock'}",  # the munged that slurmdbd's messages use
            "AccountingStorageTRES=gres/gpu",
            "AccountingStorageEnforce=associations",
            "JobCompType=jobcomp/none",
            "PreemptType=preempt/qos",
            "PreemptMode=REQUEUE",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "MinJobAge=300",
            "KillWait=2",
            "Waittime=0",
        ]
        for name, gpus in self.nodes:
            lines.append(
                f"NodeName={name} NodeHostname=localhost NodeAddr=127.0.0.1 Port={p[name]} CPUs=2 RealMemory=2000"
                f" Gres=gpu:{self.gpu_type}:{gpus} State=UNKNOWN"
            )
        every = ",".join(n for n, _ in self.nodes)
        lines.append(f"PartitionName=gpu Nodes={every} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4")
        (d / "slurm.conf").write_text("\n".join(lines) + "\n")
        most = max(g for _, g in self.nodes)
        gres = ["AutoDetect=off"] + [
            f"NodeName={name} Name=gpu Type={self.gpu_type} File={d / 'dev'}/nvidia[0-{gpus - 1}]"
            for name, gpus in self.nodes
        ]
        assert most >= 1
        (d / "gres.conf").write_text("\n".join(gres) + "\n")
        dbd = [
            "AuthType=auth/munge",
            auth,
            "DbdHost=localhost",
            f"DbdPort={p['dbd']}",
            "SlurmUser=root",
            f"LogFile={d / 'log' / 'slurmdbd.log'}",
            f"PidFile={d / 'slurmdbd.pid'}",
            "StorageType=accounting_storage/mysql",
            "StorageHost=127.0.0.1",
            "StoragePort=3306",
            "StorageUser=root",
            f"StorageLoc={self.cluster}_acct",
        ]
        (d / "slurmdbd.conf").write_text("\n".join(dbd) + "\n")
        (d / "slurmdbd.conf").chmod(0o600)  # slurmdbd refuses a configuration others can read

    def _run(self, command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=self.env, check=check, capture_output=True, text=True, timeout=30)

    def _listening(self, port: int) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    def _all_idle(self) -> bool:
        found = self._run(["sinfo", "-h", "-N", "-o", "%N %T"], check=False).stdout.split()
        states = dict(zip(found[::2], found[1::2], strict=False))
        if any(s.rstrip("*") in ("inval", "down") for s in states.values()):
            every = ",".join(n for n, _ in self.nodes)
            self._run(["scontrol", "update", f"nodename={every}", "state=resume"], check=False)
        return len(states) == len(self.nodes) and all(s == "idle" for s in states.values())

    def _until(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}; logs in {self.folder / 'log'}")
            time.sleep(0.2)


def _which(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("start", "stop"):
        print(__doc__)
        return 2
    folder = Path(argv[1])
    if argv[0] == "stop":
        LocalSlurm(folder, [("x", 1)]).stop()
        return 0
    reason = missing()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    cluster = LocalSlurm(folder, [(n, 8) for n in argv[2:]] or [("n1", 8)])
    cluster.start()
    print(json.dumps({"SLURM_CONF": str(cluster.conf), "cluster": cluster.cluster, "ports": cluster.ports}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
