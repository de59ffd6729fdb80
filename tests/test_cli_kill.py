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


def run_and_kill(out, args, moment):
    """Start a run, kill it `moment` seconds after its config appeared; True if it was killed,
    False with the seconds it took if it ended first."""
    process = start(out, args)
    began = wait_for_config(out, process)
    assert began is not None, process.stderr.read()
    try:
        process.wait(timeout=moment)
        finished = time.perf_counter() - began
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()  # reaped: its temporaries now belong to no live process
        # None when killed; a run that ended on its own just before the signal took this long
        killed = process.returncode == -signal.SIGKILL
        finished = None if killed else time.perf_counter() - began
    process.stderr.close()
    return process.returncode == -signal.SIGKILL, finished


def kill_and_resume(tmp_path, args, reference, fractions, duration):
    """Kill a run at each fraction of its duration, resume it, and count: killed, killed inside
    a write, resumed, bit-identical to `reference`. The machine is shared, so a run may end
    before its moment: then its own time becomes the duration and the moment is tried again
    (twice at most), so that the moments stay spread over the run however fast it goes."""
    counts = dict.fromkeys(("kills", "inside a write", "resumed", "bit-identical"), 0)
    for i, fraction in enumerate(fractions):
        for attempt in range(3):
            out = tmp_path / f"killed{i}-{attempt}"
            killed, finished = run_and_kill(out, args, fraction * duration)
            if killed or attempt == 2:
                break
            duration = finished
        counts["kills"] += killed
        counts["inside a write"] += bool(temporaries(out))
        result = CliRunner().invoke(main, ["resume", str(out)])
        assert result.exit_code == 0, (fraction, result.output)
        counts["resumed"] += 1
        assert temporaries(out) == [], fraction
        differ = [n for n in COMPARED if (out / n).read_bytes() != (reference / n).read_bytes()]
        assert differ == [], fraction
        counts["bit-identical"] += 1
    return counts


def uninterrupted(tmp_path, args):
    """The reference run, and how long it took from its config.json to its end: a process of
    its own, as the killed runs are (in this process a run would take longer, for the garbage
    collector's walks over pytest's objects, and the later moments would miss the runs)."""
    reference = tmp_path / "reference"
    process = start(reference, args)
    began = wait_for_config(reference, process)
    assert began is not None, process.stderr.read()
    _, stderr = process.communicate()
    duration = time.perf_counter() - began
    assert process.returncode == 0, stderr
    return reference, duration


def check(tmp_path, args, n_kills):
    reference, duration = uninterrupted(tmp_path, args)
    fractions = [(i + 0.5) / n_kills for i in range(n_kills)]
    counts = kill_and_resume(tmp_path, args, reference, fractions, duration)
    print(f"\n{counts} over {duration:.2f} s of training and writing")
    assert counts["resumed"] == counts["bit-identical"] == n_kills
    return counts


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    check(tmp_path, SMALL, 3)


@pytest.mark.slow
def test_twenty_kills_resume_bit_for_bit(tmp_path):
    counts = check(tmp_path, LARGE, 20)
    assert counts["kills"] >= 18  # a moment tried three times may still find the run ended
