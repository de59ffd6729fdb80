"""The package's promises about itself: `import wengert` needs NumPy alone."""

import subprocess
import sys

OPTIONAL = ("tqdm", "click", "sympy", "matplotlib", "sklearn", "scipy", "torch", "jax", "numba")


def test_import_wengert_loads_no_optional_dependency():
    code = f"import sys, wengert\nprint(','.join(m for m in {OPTIONAL!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_exist():
    import wengert as wg

    missing = [name for name in wg.__all__ if not hasattr(wg, name)]
    assert not missing
    assert wg.__all__ == sorted(wg.__all__, key=lambda n: (n[0].islower(), n))
