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


def test_the_parser_imports_only_the_command_that_runs():
    """Issue 32.8: building the parser for one command imports that command's module and no other (their names and
    help are read from the sources), and every command module keeps NAME and HELP as plain literals."""
    import subprocess
    import sys
    from pathlib import Path

    from forensics.cli import command_index

    probe = (
        "import sys; from forensics.cli import build_parser; build_parser('models'); "
        "print(sorted(m for m in sys.modules if m.startswith('forensics.commands.')))"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['forensics.commands.models']"
    index = command_index()
    modules = {p.stem for p in (root / "forensics" / "commands").glob("*.py") if not p.stem.startswith("_")}
    assert {module for module, _ in index.values()} == modules and all(h for _, h in index.values())


def test_registry_titles_defaults_and_former_names():
    reg: Registry[tuple] = Registry("shape")

    @reg.register("square", title="Square", default="polygon")
    def square(side=1):
        return ("square", side)

    reg.register("circle")(lambda: ("circle",))
    assert reg.title("square") == "Square" and reg.title("circle") == "circle" and reg.title("nothing") == "nothing"
    assert reg.default("polygon") == "square"
    with pytest.raises(UnknownComponentError, match="default for 'curve'"):
        reg.default("curve")
    with pytest.raises(ValueError, match="default for 'polygon'"):
        reg.register("triangle", default="polygon")(square)
    reg.deprecate("box", "square")
    assert reg.names() == ["circle", "square"] and "box" in reg and reg.former_names() == {"box": "square"}
    with pytest.warns(FutureWarning, match="'box' was renamed 'square'"):
        assert reg.create("box", side=2) == ("square", 2)
    assert reg.meta("box") == reg.meta("square")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("box")(square)
