"""fit() in a notebook: an HTML bar updated in place (tqdm's widget where ipywidgets is
installed), the epoch lines as on a terminal; elsewhere the terminal's choice is unchanged."""

import io
import sys
import types

import pytest
import tqdm
import tqdm.notebook
from train_helpers import fit_table, smallest_perceptron

from wengert import optim
from wengert.train import progress as progress_module
from wengert.train.progress import HTMLBar, Progress, format_value, in_notebook


class Display:
    """A stand-in for IPython's display: keeps the HTML of each drawing of each handle."""

    def __init__(self) -> None:
        self.drawn: list[str] = []

    def __call__(self, obj, display_id=False):
        assert display_id is True
        self.drawn.append(obj._repr_html_())
        return self

    def update(self, obj) -> None:
        self.drawn.append(obj._repr_html_())


@pytest.fixture
def notebook(monkeypatch):
    """A kernel without ipywidgets: stderr no terminal (pytest's), the HTML bar drawn into a
    Display."""
    display = Display()
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    monkeypatch.setattr(progress_module, "have_ipywidgets", lambda: False)
    monkeypatch.setattr(progress_module, "HTMLBar", lambda **kw: HTMLBar(**kw, display=display))
    return display


def test_fit_in_a_notebook_draws_an_html_bar_and_the_epoch_lines(notebook, capsys):
    display = notebook
    model = smallest_perceptron()
    history = fit_table(model, optim.SGD(model.parameters(), lr=0.01), epochs=2, batch_size=1,
                        progress=None)  # fmt: skip
    # each epoch: drawn empty, at its 4th and last step, then cleared when it ends
    last_of_epoch = [d for d in display.drawn if 'value="4" max="4"' in d]
    assert len(last_of_epoch) == 2 and display.drawn.count("") == 2
    for epoch, html in enumerate(last_of_epoch):
        assert f"epoch {epoch + 1}/2" in html
        assert f"<code>loss {format_value(history.epoch_loss[epoch])}</code>" in html
    first = '<div class="wengert-progress"><code>epoch 1/2</code> <progress value="0" max="4">'
    assert display.drawn[0].startswith(first + "</progress> 0/4 steps")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  (")[0] for line in lines] == [
        f"epoch {e + 1}/2  loss {format_value(history.epoch_loss[e])}" for e in range(2)
    ]


def test_the_epochs_setting_shows_lines_alone_in_a_notebook(notebook, capsys):
    display = notebook
    model = smallest_perceptron()
    fit_table(model, optim.SGD(model.parameters(), lr=0.01), epochs=1, progress="epochs")
    assert display.drawn == [] and capsys.readouterr().err.startswith("epoch 1/1  loss ")


def test_with_ipywidgets_a_notebook_gets_tqdms_widget(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    monkeypatch.setattr(progress_module, "have_ipywidgets", lambda: True)
    assert Progress(None, 3).new_bar is tqdm.notebook.tqdm
    monkeypatch.setattr(progress_module, "have_ipywidgets", lambda: False)
    assert Progress(None, 3).new_bar is HTMLBar


def test_off_a_notebook_and_a_terminal_nothing_is_drawn(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(progress_module, "in_notebook", lambda: False)
    shown = Progress(None, 3)
    assert not shown.live and not shown.lines


def test_a_terminal_keeps_the_terminal_bar(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress_module, "in_notebook", lambda: pytest.fail("asked"))
    bar = Progress(None, 3).new_bar(total=4, desc="epoch 1/3", unit="step", leave=True,
                                    mininterval=0)  # fmt: skip
    assert type(bar) is tqdm.tqdm
    bar.update(4)
    bar.close()
    assert "epoch 1/3: 100%" in terminal.getvalue() and "4/4" in terminal.getvalue()


def test_in_notebook_asks_ipythons_kernel_app(monkeypatch):
    assert in_notebook() is False  # pytest is no kernel
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    fake = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() is True
    shell.config = {"TerminalIPythonApp": {}}  # IPython in a terminal
    assert in_notebook() is False
    fake.get_ipython = lambda: None  # IPython imported, no shell running
    assert in_notebook() is False
