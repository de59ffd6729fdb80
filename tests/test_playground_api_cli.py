"""`wengert playground`: the real server in a subprocess over HTTP, and its one-line errors."""

import json
import socket
import subprocess
import sys
import urllib.request

import pytest
from click.testing import CliRunner

pytest.importorskip("starlette", reason="the playground extra (Starlette) is not installed")
pytest.importorskip("uvicorn", reason="the playground extra (uvicorn) is not installed")

from wengert.cli import main

START = "from wengert.cli import main; main()"


def test_the_command_serves_the_page_and_the_api_over_http():
    command = [sys.executable, "-c", START, "playground", "--no-browser", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("wengert playground: serving on http://127.0.0.1:"), line
        url = line.split()[4]
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
            assert "<html" in page.read().decode("utf-8").lower()
        with urllib.request.urlopen(url + "api/options", timeout=10) as answer:
            options = json.loads(answer.read())
        assert "seed_table" in options["datasets"] and options["limits"]["max_runs"] == 32
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_taken_port_is_one_line_and_status_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["playground", "--no-browser", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output == (
        f"wengert playground: error: port {port} on 127.0.0.1 is taken; "
        "pick another with --port N, or --port 0 for a free one\n"
    )


def test_a_missing_extra_is_one_line_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(main, ["playground", "--no-browser", "--port", "0"])
    assert result.exit_code == 2
    assert result.output.startswith(
        "wengert playground: error: wengert playground needs the playground extra: "
        "pip install 'wengert[playground]'"
    )
    assert result.output.count("\n") == 1


def test_a_port_out_of_range_is_refused():
    result = CliRunner().invoke(main, ["playground", "--port", "70000"])
    assert result.exit_code == 2
    assert "70000 is not in the range 0<=x<=65535" in result.output
