"""A `wengert train` killed (SIGKILL) at any moment is finished by `wengert resume DIR`, bit for
bit as if it had never stopped.

The moments are spread evenly over the time an uninterrupted run takes, counted from the
killed run's config.json (written before the first step). In the slow test the checkpoint of
each epoch is large enough (two hidden layers of 256) that some kills land inside a write, which
shows as a temporary file left behind.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from wengert.cli import main

WENGERT = os.path.join(os.path.dirname(sys.executable), "wengert")
SMALL = ["--data", "moons", "--hidden", "16", "--epochs", "4", "--batch-size", "32"]
# checkpoints of about 1.6 MB: some kills land inside a write
LARGE = ["--data", "moons", "--hidden", "256,256", "--epochs", "6", "--batch-size", "16"]
COMPARED = ("config.json", "metrics.json", "history.csv", "model.safetensors")
COMPARED += ("checkpoint.safetensors",)

pytestmark = pytest.mark.skipif(not os.path.exists(WENGERT), reason="no console script")


def start(out, args):
    """The `wengert train` process writing to `out`."""
    command = [WENGERT, "train", *args, "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_config(out, process):
    """The time config.json appeared (None if the process ended first)."""
    config = out / "config.json"
    while not config.exists():
        if process.poll() is not None:
            return None
        time.sleep(0.001)
    return time.perf_counter()


def temporaries(out):
    return sorted(name for name in os.listdir(out) if ".tmp-" in name)


def kill_and_resume(tmp_path, args, reference, moments):
    """Kill a run at each of `moments` (seconds after its config appeared), resume it, and
    count: killed, killed inside a write, resumed, bit-identical to `reference`."""
    counts = dict.fromkeys(("kills", "inside a write", "resumed", "bit-identical"), 0)
    for i, moment in enumerate(moments):
        out = tmp_path / f"killed{i}"
        process = start(out, args)
        assert wait_for_config(out, process) is not None, process.stderr.read()
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait()  # reaped: its temporaries now belong to no live process
        process.stderr.close()
        counts["kills"] += process.returncode == -signal.SIGKILL
        counts["inside a write"] += bool(temporaries(out))
        result = CliRunner().invoke(main, ["resume", str(out)])
        assert result.exit_code == 0, (moment, result.output)
        counts["resumed"] += 1
        assert temporaries(out) == [], moment
        differ = [n for n in COMPARED if (out / n).read_bytes() != (reference / n).read_bytes()]
        assert differ == [], moment
        counts["bit-identical"] += 1
    return counts


def uninterrupted(tmp_path, args):
    """The reference run (in this process: no start-up to wait for), and how long it took."""
    reference = tmp_path / "reference"
    began = time.perf_counter()
    result = CliRunner().invoke(main, ["train", *args, "--out", str(reference)])
    assert result.exit_code == 0, result.output
    return reference, time.perf_counter() - began


def check(tmp_path, args, n_kills):
    reference, duration = uninterrupted(tmp_path, args)
    moments = [(i + 0.5) / n_kills * duration for i in range(n_kills)]
    counts = kill_and_resume(tmp_path, args, reference, moments)
    print(f"\n{counts} over {duration:.2f} s of training and writing")
    assert counts["resumed"] == counts["bit-identical"] == n_kills
    return counts


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    check(tmp_path, SMALL, 3)


@pytest.mark.slow
def test_twenty_kills_resume_bit_for_bit(tmp_path):
    counts = check(tmp_path, LARGE, 20)
    assert counts["kills"] >= 15  # the last moments may find the run already finished
