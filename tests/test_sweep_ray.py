"""The searches and `wengert sweep` on a local Ray instance of two CPUs: the same numbers as in
one process, computed in Ray's worker processes. One instance serves the whole module (its
start takes seconds)."""

import os
import subprocess
import sys

import pytest
from sweep_helpers import assert_points_by_hand, search_on, sweep, write_grid

ray = pytest.importorskip("ray", reason="the Ray tests need wengert[ray]")


@pytest.fixture(scope="module")
def ray_instance():
    """Ray started here with 2 CPUs and joblib's "ray" backend registered; shut down after."""
    from ray.util.joblib import register_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        yield ray
    finally:
        ray.shutdown()


def search_on_ray(tmp_path, which):
    scored_in = search_on("ray", tmp_path, which)
    assert scored_in and os.getpid() not in scored_in  # every fold was scored in a worker


def test_a_grid_search_on_ray_equals_the_sequential_search(ray_instance, tmp_path):
    search_on_ray(tmp_path, 0)


@pytest.mark.slow
def test_a_randomized_search_on_ray_equals_the_sequential_search(ray_instance, tmp_path):
    search_on_ray(tmp_path, 1)


def test_wengert_sweep_on_ray_gives_each_point_of_wengert_train_by_hand(ray_instance, tmp_path):
    sweep(write_grid(tmp_path / "grid.json"), tmp_path / "out", "--backend", "ray")
    assert_points_by_hand(tmp_path / "out", tmp_path / "by-hand")
    assert ray_instance.is_initialized()  # the instance it found is left running


@pytest.mark.slow
def test_wengert_sweep_joins_a_running_ray_cluster_at_its_address(ray_instance, tmp_path):
    address = ray_instance.get_runtime_context().gcs_address
    command = "from wengert.cli import main; main()"
    args = ["sweep", write_grid(tmp_path / "g.json"), "--out", tmp_path / "out"]
    args += ["--backend", "ray", "--address", address]
    done = subprocess.run(  # another driver, as on a cluster's head node
        [sys.executable, "-c", command, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert_points_by_hand(tmp_path / "out", tmp_path / "by-hand")
    assert ray_instance.cluster_resources()["CPU"] == 2  # the cluster it left is still up
