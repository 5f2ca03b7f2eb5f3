"""A real Slurm's accounting replayed as a trace: jobs run on the test cluster (tests/slurm.py), `sacct --json` and
`sacct -P` write their history, both read back alike (adapters/traces/history.py), and `neocloud simulate`
replays it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.traces.history import SACCT_FORMAT
from neocloud.adapters.traces.loader import load_trace
from neocloud.cli.main import app

from ..slurm import until


def test_a_slurm_history_replays(slurm: SlurmCli, tmp_path: Path) -> None:
    tag = f"hist{int(time.time())}"
    wrap = ("--output=/dev/null", "--wrap", "sleep 2")
    ran = {
        slurm.submit(f"--job-name={tag}-a", "--gres=gpu:2", "--time=5", *wrap): (2, 1, 300),
        slurm.submit(f"--job-name={tag}-b", "-N2", "--gres=gpu:8", "--time=1:00:00", *wrap): (16, 2, 3600),
        slurm.submit(f"--job-name={tag}-c", "--gres=gpu:1", *wrap): (1, 1, None),
    }
    cpu_only = slurm.submit(f"--job-name={tag}-d", *wrap)
    never = slurm.submit(f"--job-name={tag}-e", "--hold", "--gres=gpu:1", *wrap)
    slurm.run("scancel", never)
    ours = {*ran, cpu_only, never}
    window = ("-a", "-X", "-j", ",".join(sorted(ours)))  # a job cancelled while pending is outside any -S window

    def ended() -> set[str]:
        # Whole records only: slurmdbd may first hear of a job's end and write a stand-in record (no partition,
        # no time limit) until the rest arrives.
        jobs = json.loads(slurm.run("sacct", "--json", *window))["jobs"]
        return {str(j["job_id"]) for j in jobs if j["time"]["end"] and j["partition"] and str(j["job_id"]) in ours}

    until(lambda: ended() == ours, 60, "every job ended in Slurm's accounting, its record whole")
    as_json = tmp_path / "sacct.json"
    as_json.write_text(slurm.run("sacct", "--json", *window))
    as_text = tmp_path / "sacct.txt"
    as_text.write_text(slurm.run("sacct", "-P", f"--format={SACCT_FORMAT}", *window))

    reads = [load_trace(f"sacct:{path}") for path in (as_json, as_text)]
    for read in reads:
        jobs = {j.id: j for j in read.jobs}
        assert {i: (j.gpus_per_task * j.tasks, j.tasks, j.estimate) for i, j in jobs.items()} == ran
        assert all(2 <= j.duration <= 30 for j in jobs.values())  # sleep 2, as Slurm timed it (a loaded machine)
        assert read.left_out == {"never started": 1, "no GPUs": 1}
    json_jobs, text_jobs = ({j.id: j for j in read.jobs} for read in reads)
    assert json_jobs == text_jobs  # the two outputs of one history read alike

    out = CliRunner().invoke(app, ["simulate", "--trace", f"sacct:{as_text}", "--fleet", "uniform:4x8", "--json"])
    assert out.exit_code == 0, out.output
    replayed = json.loads(out.stdout)
    assert replayed["results"][0]["finished"] == len(text_jobs)
    assert replayed["left_out"] == {"never started": 1, "no GPUs": 1}
