"""The searches and `wengert sweep` on a Dask cluster of two local worker processes: the same
numbers as in one process, computed in the workers."""

import os

import pytest
from sweep_helpers import assert_points_by_hand, search_on, sweep, write_grid

distributed = pytest.importorskip("distributed", reason="the Dask tests need wengert[dask]")


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-thread worker processes and its Client, closed after."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster, timeout=30)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


@pytest.mark.parametrize("which", [0, 1], ids=["GridSearchCV", "RandomizedSearchCV"])
def test_a_search_on_dask_equals_the_sequential_search(client, tmp_path, which):
    scored_in = search_on("dask", tmp_path, which)
    workers = set(client.run(os.getpid).values())
    assert len(workers) == 2
    assert scored_in and scored_in <= workers  # every fold was scored in a worker


def test_wengert_sweep_on_dask_gives_each_point_of_wengert_train_by_hand(client, tmp_path):
    address = client.scheduler.address
    grid = write_grid(tmp_path / "grid.json")
    sweep(grid, tmp_path / "out", "--backend", "dask", "--address", address)
    assert_points_by_hand(tmp_path / "out", tmp_path / "by-hand")


@pytest.mark.slow
def test_wengert_sweep_starts_and_closes_its_own_local_cluster(tmp_path):
    grid = write_grid(tmp_path / "grid.json")
    sweep(grid, tmp_path / "out", "--backend", "dask", "--jobs", "2")
    assert_points_by_hand(tmp_path / "out", tmp_path / "by-hand")
