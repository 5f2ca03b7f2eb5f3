"""An operator's own history as a trace (adapters/traces/history.py): sacct's text and JSON, and a CSV of jobs
with a column mapping, on small files whose jobs are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neocloud.adapters.traces.loader import load_trace
from neocloud.core.errors import InvalidSpec
from neocloud.core.workload import Job

SACCT_TEXT = """JobID|Submit|Start|End|AllocTRES|Account|User|Partition|Timelimit
101|2026-12-01T10:00:00|2026-12-01T10:00:05|2026-12-01T11:00:05|billing=8,cpu=8,gres/gpu=2,mem=16G,node=1|lab|ann|gpu|02:00:00
101.batch|2026-12-01T10:00:05|2026-12-01T10:00:05|2026-12-01T11:00:05|cpu=8,gres/gpu=2,mem=16G,node=1|lab||gpu|
102|2026-12-01T10:10:00|2026-12-01T10:20:00|2026-12-01T10:20:00|billing=32,cpu=32,gres/gpu:h100=16,node=2|ml|bob|gpu|1-00:00:00
103|2026-12-01T10:30:00|Unknown|Unknown|billing=1,cpu=1,node=1|lab|ann|gpu|UNLIMITED
104|2026-12-01T10:40:00|2026-12-01T10:41:00|2026-12-01T10:42:00|billing=1,cpu=1,mem=1G,node=1|lab|ann|cpu|30
105|2026-12-01T10:50:00|2026-12-01T10:51:00|Unknown|gres/gpu=3,node=2|ml|bob|gpu|Partition_Limit
106|2026-12-01T09:59:00|2026-12-01T10:00:00|2026-12-01T10:00:30|gres/gpu=3,node=2|ml|cat|gpu|45
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def by_id(jobs: list[Job]) -> dict[str, Job]:
    return {j.id: j for j in jobs}


def test_sacct_text(tmp_path: Path) -> None:
    read = load_trace(f"sacct:{write(tmp_path, 's.txt', SACCT_TEXT)}")
    jobs = by_id(read.jobs)
    # The clock starts at 106's submission (09:59). 101: submitted 60 s later, ran an hour on 2 GPUs, limit 2 h.
    assert (jobs["101"].submit, jobs["101"].duration, jobs["101"].gpus, jobs["101"].estimate) == (60, 3600, 2, 7200)
    assert jobs["101"].tenant == "lab"
    # 102: 16 typed GPUs over 2 nodes: a gang of 2 tasks of 8; it ran 0 s (1 s, the least a job runs); 1 day.
    assert (jobs["102"].tasks, jobs["102"].gpus_per_task, jobs["102"].duration, jobs["102"].estimate) == (
        2,
        8,
        1,
        86_400,
    )
    # 106: 3 GPUs do not split over 2 nodes: a gang of 3 single GPUs; a limit of 45 minutes.
    assert (jobs["106"].submit, jobs["106"].tasks, jobs["106"].gpus_per_task, jobs["106"].estimate) == (0, 3, 1, 2700)
    # The step 101.batch is not a job; 103 never started, 104 had no GPU, 105 has not ended.
    assert sorted(jobs) == ["101", "102", "106"]
    assert read.left_out == {"never started": 1, "no GPUs": 1, "not ended": 1}
    assert by_id(load_trace(f"sacct:{tmp_path / 's.txt'},tenant=user").jobs)["106"].tenant == "cat"


def sacct_json(*jobs: dict[str, object]) -> str:
    return json.dumps({"meta": {"Slurm": {"version": {"major": 22, "minor": 5}}}, "errors": [], "jobs": list(jobs)})


def job(job_id: int, submit: int, start: int, end: int, gpus: int, nodes: int, limit: object) -> dict[str, object]:
    tres = [{"type": "cpu", "name": "", "id": 1, "count": 8}, {"type": "node", "name": "", "id": 4, "count": nodes}]
    if gpus:
        tres.append({"type": "gres", "name": "gpu", "id": 1001, "count": gpus})
    return {
        "job_id": job_id,
        "account": "lab",
        "user": "ann",
        "partition": "gpu",
        "time": {"submission": submit, "start": start, "end": end, "limit": limit},
        "tres": {"allocated": tres, "requested": []},
    }


def test_sacct_json_in_both_shapes_of_time_limit(tmp_path: Path) -> None:
    text = sacct_json(
        job(7, 1_000, 1_010, 1_610, 8, 1, 60),  # 22.05: minutes
        job(8, 1_100, 1_100, 1_200, 16, 2, {"set": True, "infinite": False, "number": 5}),  # later versions
        job(9, 1_200, 0, 0, 4, 1, {"set": True, "infinite": True, "number": 0}),  # cancelled while pending
        {**job(10, 1_300, 1_300, 1_400, 4, 1, None), "partition": ""},  # slurmdbd's stand-in: not whole yet
    )
    read = load_trace(f"sacct:{write(tmp_path, 's.json', text)}")
    jobs = by_id(read.jobs)
    assert (jobs["7"].submit, jobs["7"].duration, jobs["7"].gpus, jobs["7"].estimate) == (0, 600, 8, 3600)
    assert (jobs["8"].submit, jobs["8"].tasks, jobs["8"].gpus_per_task, jobs["8"].estimate) == (100, 2, 8, 300)
    assert read.left_out == {"never started": 1, "not ended": 1}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not sacct --json output"),
        ('{"jobs": 3}', "not sacct --json output"),
        (sacct_json({"job_id": 1}), "job 1 of 1: malformed"),
        (sacct_json(job(1, -5, 0, 0, 1, 1, 60)), "submission time -5"),
        (sacct_json(job(1, 0, 10, 20, 1, 1, 2.5)), "time limit 2.5"),
        (sacct_json(job(1, 2**70, 10, 20, 1, 1, 1)), "is not a whole number in range"),
        (sacct_json(job(1, 0, 20, 10, 1, 1, 1)), "ends \\(10\\) before it starts \\(20\\)"),
    ],
)
def test_bad_sacct_json_is_refused(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(InvalidSpec, match=says):
        load_trace(f"sacct:{write(tmp_path, 's.json', text)}")


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("1|2026-12-01T10:00:00|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=x|a|u|p|1", "gres/gpu 'x'"),
        ("1|yesterday|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1", "Submit 'yesterday'"),
        ("1|Unknown|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1", "Submit is not known"),
        ("1|2026-12-01T10:00:00|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1-x", "Timelimit '1-x'"),
        ("1|99999999999999|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1", "after the year 9999"),
        ("1|2026-12-01T10:00:00|2026-12-01T10:00:00", "expected 9 fields"),
        (
            "1|2026-12-01T10:00:00|2026-12-01T11:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1",
            "ends .* before it starts",
        ),
        ("1|1900-12-01T10:00:00|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1", "before 1970"),
    ],
)
def test_bad_sacct_rows_name_their_line_or_are_counted(tmp_path: Path, row: str, says: str) -> None:
    good = "2|2026-12-01T10:00:00|2026-12-01T10:00:00|2026-12-01T10:01:00|gres/gpu=1|a|u|p|1"
    path = write(tmp_path, "s.txt", f"{SACCT_TEXT.splitlines()[0]}\n{good}\n{row}\n")
    with pytest.raises(InvalidSpec, match=f"s.txt:3: .*{says}"):
        load_trace(f"sacct:{path}")
    read = load_trace(f"sacct:{path}", skip_bad_rows=True)
    assert ([j.id for j in read.jobs], [line for line, _ in read.skipped]) == (["2"], [3])


def test_a_jobs_csv_with_a_column_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "jobs.csv",
        "JobName,Queued,Began,Ended,NGPU,Team,Who\n"
        "a,1700000000,1700000010,1700000070,4,vision,ann\n"
        "b,2023-11-14T22:13:30Z,2023-11-14T22:14:00+00:00,2023-11-14T22:20:00,8,nlp,bob\n"
        "c,1700000100,,,2,vision,ann\n",
    )
    spec = f"csv:{path},id=JobName,submit=Queued,start=Began,end=Ended,gpus=NGPU,account=Team,user=Who"
    read = load_trace(spec)
    jobs = by_id(read.jobs)
    # 1,700,000,000 is 2023-11-14T22:13:20Z: b arrives 10 s after a, and ran 6 minutes.
    assert (jobs["a"].submit, jobs["a"].duration, jobs["a"].gpus, jobs["a"].tenant) == (0, 60, 4, "vision")
    assert (jobs["b"].submit, jobs["b"].duration, jobs["b"].tenant) == (10, 360, "nlp")
    assert read.left_out == {"never started": 1}
    assert by_id(load_trace(f"{spec},tenant=user").jobs)["b"].tenant == "bob"


def test_a_jobs_csv_with_durations_in_its_own_names(tmp_path: Path) -> None:
    path = write(
        tmp_path, "jobs.csv", "submit,duration,gpus,nodes,estimate\n0,3600,16,2,2:00:00\n30,1-00:00:00,1,,90\n"
    )
    jobs = load_trace(f"csv:{path}").jobs
    # No id column: r1, r2 in file order. A duration in seconds or [D-]HH:MM:SS, an estimate likewise.
    assert [(j.id, j.submit, j.duration, j.tasks, j.gpus_per_task, j.estimate) for j in jobs] == [
        ("r1", 0, 3600, 2, 8, 7200),
        ("r2", 30, 86_400, 1, 1, 90),
    ]


@pytest.mark.parametrize(
    ("options", "header", "row", "says"),
    [
        (",gpu=NGPU", "submit,duration,gpus", "0,10,1", "unknown options"),
        (",tenant=team", "submit,duration,gpus", "0,10,1", "tenant is one of"),
        ("", "submit,gpus", "0,1", r"missing columns \['start', 'end'\]"),
        ("", "submit,start,end,gpus", "100,50,60,1", "starts \\(50\\) before it is submitted"),
        ("", "submit,start,end,gpus", "0,60,50,1", "ends \\(50\\) before it starts"),
        ("", "submit,duration,gpus", "0,1:2:3:4,1", "duration '1:2:3:4' is not seconds"),
        ("", "submit,duration,gpus", "0,nan,1", "duration 'nan' is not seconds"),
        ("", "submit,duration,gpus", "0,10,-1", "gpus '-1' is not a whole number"),
        ("", "submit,duration,gpus", "0,999999999999,1", "is more than 253,402,300,800 s"),
        ("", "submit,duration,gpus,estimate", "0,10,1,9999999999:00:00", "is not seconds"),
    ],
)
def test_bad_jobs_csvs_are_refused(tmp_path: Path, options: str, header: str, row: str, says: str) -> None:
    path = write(tmp_path, "jobs.csv", f"{header}\n{row}\n")
    with pytest.raises(InvalidSpec, match=says):
        load_trace(f"csv:{path}{options}")


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_bytes(b"submit,duration,gpus\n0,10,\xff\xfe\n")
    with pytest.raises(InvalidSpec, match=r"jobs\.csv.*cannot read"):
        load_trace(f"csv:{path}")
