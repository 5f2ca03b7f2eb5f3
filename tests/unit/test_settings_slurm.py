"""The settings of real machines refuse what is not one, naming the variable, and start nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from neocloud.bootstrap import Settings
from neocloud.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"NEOCLOUD_EXECUTOR": "kubernetes"}, "NEOCLOUD_EXECUTOR must be timed or slurm"),
        ({"NEOCLOUD_EXECUTOR": "slurm\x00"}, "NEOCLOUD_EXECUTOR must be timed or slurm"),
        ({"NEOCLOUD_EXECUTOR": "slurm"}, "the slurm executor needs NEOCLOUD_SLURM_CONF"),
        ({"NEOCLOUD_SLURM_CONF": "/nowhere/slurm.conf"}, "NEOCLOUD_SLURM_CONF: no Slurm configuration"),
        ({"NEOCLOUD_SLURM_CONF": "x" * 100_000}, "NEOCLOUD_SLURM_CONF: no Slurm configuration"),
        ({"NEOCLOUD_SLURM_CONF": "/etc/\x00passwd"}, "NEOCLOUD_SLURM_CONF: no Slurm configuration"),
        ({"NEOCLOUD_DEDICATED_NODES": "perhaps"}, "NEOCLOUD_DEDICATED_NODES must be a bool"),
    ],
)
def test_bad_machine_settings_are_refused(env: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env(env)
    assert refused.value.message.startswith(says)
    assert len(refused.value.message) < 400  # a giant value is not repeated


def test_a_slurm_executor_with_its_configuration(tmp_path: Path) -> None:
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=x\n")
    settings = Settings.from_env({"NEOCLOUD_EXECUTOR": "slurm", "NEOCLOUD_SLURM_CONF": str(conf)})
    assert (settings.executor, settings.slurm_conf, settings.dedicated_nodes) == ("slurm", str(conf), True)
    assert Settings.from_env({"NEOCLOUD_DEDICATED_NODES": "false"}).policy.dedicated_nodes is False
