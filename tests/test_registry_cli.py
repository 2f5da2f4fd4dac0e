"""The generic registry and the CLI dispatcher's exit codes."""

from __future__ import annotations

import pytest

from forensics.cli import EXIT_BAD_INPUT, EXIT_USAGE, main
from forensics.errors import UnknownComponentError
from forensics.registry import Registry


def test_registry_create_names_and_unknown():
    reg: Registry[tuple] = Registry("shape")

    @reg.register("square", sides=4)
    def square(side=1):
        return ("square", side)

    assert reg.create("square", side=3) == ("square", 3)
    assert reg.names() == ["square"]
    assert reg.meta("square") == {"sides": 4}
    assert "square" in reg and "circle" not in reg
    with pytest.raises(UnknownComponentError, match="unknown shape 'circle'; known: square"):
        reg.create("circle")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("square")(square)


def test_cli_usage_errors_exit_2(capsys):
    assert main([]) == EXIT_USAGE
    assert main(["no-such-command"]) == EXIT_USAGE
    assert main(["analyze"]) == EXIT_USAGE  # missing PATH


def test_cli_unreadable_input_exits_3(tmp_path, capsys):
    bad = tmp_path / "not_an_image.jpg"
    bad.write_text("this is text, not a JPEG")
    before = bad.read_bytes()
    assert main(["analyze", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "unreadable input" in err
    assert bad.read_bytes() == before
