"""Every `python example` block of README.md and docs/*.md runs and exits 0.

A complete example is a fenced block whose info string is `python example`;
plain `python` blocks are fragments and are left alone. Each runs in a fresh
directory of its own with the package under test on PYTHONPATH.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(.*)$")


def examples():
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        block, start = None, 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            fence = FENCE.match(line)
            if block is None:
                if fence and fence.group(1).split() == ["python", "example"]:
                    block, start = [], number + 1
            elif fence and not fence.group(1).strip():
                found.append(pytest.param(path, start, "\n".join(block) + "\n",
                                          id=f"{path.relative_to(ROOT)}:{start}"))
                block = None
            else:
                block.append(line)
        assert block is None, f"{path}:{start}: a `python example` block is never closed"
    return found


@pytest.mark.parametrize("path, line, text", examples())
def test_example_runs(path, line, text, tmp_path):
    script = tmp_path / "example.py"
    # Line numbers in tracebacks point into the Markdown file.
    script.write_text("\n" * (line - 1) + text, encoding="utf-8")
    ran = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env=dict(os.environ))
    assert ran.returncode == 0, f"{path}:{line}: exits {ran.returncode}\n{ran.stdout}{ran.stderr}"
