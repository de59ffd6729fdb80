"""The examples/ notebooks run from top to bottom in a Jupyter kernel of this environment's
Python, and print the lecture's numbers."""

import asyncio
import json
import re
import sys
from pathlib import Path

import pytest

from wengert.autodiff import render

nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient")
nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat")
pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel")
from jupyter_client.manager import AsyncKernelManager  # noqa: E402  (nbclient brings it)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KERNEL = "wengert-tests"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel spec that runs this Python (the environment's own, whatever `python3` is on
    PATH), found first through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "wengert tests", "language": "python"})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        patch.setenv("MPLBACKEND", "agg")  # figures are drawn, not shown: no inline PNGs
        yield KERNEL


async def run_notebook(name: str, kernel: str, cwd: Path, sockets: Path) -> list[dict]:
    """Execute examples/<name>.ipynb in a kernel of its own, in `cwd`, talking to it through
    sockets in the folder `sockets`; its cells' outputs, in order."""
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    assert all(c.get("outputs", []) == [] for c in nb.cells), f"{name} is committed with outputs"
    # Over Unix sockets, not TCP: kernels started side by side each pick free ports, free them
    # and bind them later, and two could pick the same one.
    manager = AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=str(sockets / "kernel"))
    client = nbclient.NotebookClient(
        nb, km=manager, timeout=60, resources={"metadata": {"path": str(cwd)}}
    )
    await client.async_execute()
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


@pytest.fixture(scope="module")
def executed(kernel, tmp_path_factory):
    """Every notebook's outputs, and the folder it ran in; the notebooks run side by side, each
    in its own kernel, since most of their time is each kernel starting and importing."""
    folders = {name: tmp_path_factory.mktemp(name) for name in CHECKS}

    async def run_all():
        runs = [
            run_notebook(name, kernel, folder, tmp_path_factory.mktemp("sockets"))
            for name, folder in folders.items()
        ]
        return dict(zip(folders, await asyncio.gather(*runs), strict=True))

    outputs = asyncio.run(run_all())
    return {name: (outputs[name], folders[name]) for name in CHECKS}


def text_of(outputs: list[dict]) -> str:
    """Everything printed, and the plain-text and HTML forms of what was displayed."""
    parts = []
    for out in outputs:
        if out["output_type"] == "stream":
            parts.append(out["text"])
        for kind in ("text/plain", "text/html", "image/svg+xml"):
            parts.append(out.get("data", {}).get(kind, ""))
    return "\n".join(parts)


def test_every_notebook_is_tested():
    assert sorted(p.stem for p in EXAMPLES.glob("*.ipynb")) == sorted(CHECKS)


def check_smallest_perceptron(text: str) -> None:
    assert "by hand: w = 1.0047" in text and "fit: w = 1.0047" in text
    assert "least squares: w = 1.0047" in text
    assert "<b>History: 20 epochs, 80 steps</b>" in text
    assert "epoch 20/20  loss 0.0047  (" in text  # fit's line for the last epoch, on stderr
    assert "Backward sweep: x\u0304 = dL/dx" in text  # the trace's HTML, with its sweep


def check_backpropagation(text: str) -> None:
    assert "gradcheck passed: True" in text and "<b>gradcheck passed:" in text
    assert "<td>w\u0304</td><td>=</td><td>t1\u0304 * x</td><td>-0.0935875</td>" in text
    assert "reverse mode (grad)" in text and "symbolic (SymPy)" in text
    assert '"w" -> "t1";' in text
    if render.graphviz_dot() is None:
        assert "needs Graphviz's `dot` program" in text
    else:
        assert "<svg" in text and "<SVG of " in text


def check_optimizers(text: str) -> None:
    assert "0.1/√t: 0.1000  0.0707  0.0577" in text
    valley, saddle = text.split("valley, from")[1].split("saddle, from")
    assert re.search(r"L-BFGS: θ = \([ -]0\.0000, [ -]0\.0000\)  f = 0\.000000\n", valley)
    assert "SGD: θ = (-0.2841,  0.0000)  f = 0.004035" in valley  # still creeping along it
    assert re.search(r"L-BFGS: θ = \([ -]0\.0000,  1\.0000\)  f = -0\.250000\n", saddle)


def check_perceptron_vs_svm(text: str) -> None:
    assert text.count("accuracy 100%") == 2


CHECKS = {
    "01_smallest_perceptron": check_smallest_perceptron,
    "02_backpropagation": check_backpropagation,
    "03_optimizers": check_optimizers,
    "04_perceptron_vs_svm": check_perceptron_vs_svm,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_notebook_runs_and_shows_the_lectures_numbers(name, executed):
    outputs, folder = executed[name]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors == []
    CHECKS[name](text_of(outputs))
    assert list(folder.iterdir()) == []  # nothing written beside it
