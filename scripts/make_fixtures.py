"""Write every reference fixture under tests/fixtures/ (`make fixtures` runs this).

Each fixture maker is a script of its own under scripts/, runnable alone, that uses a peer
library (PyTorch, scikit-learn) to compute expected values; the default tests only read the
files. Add a maker by importing its `main` below.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import make_lbfgs_fixture
import make_optimizer_fixtures

MAKERS = [make_optimizer_fixtures.main, make_lbfgs_fixture.main]


def main() -> None:
    for make in MAKERS:
        make()


if __name__ == "__main__":
    main()
