"""The tutorial's "Your own data" and "Your own model" sections, run as written on a copy of the project:
its files written where it says, its commands run in order (smoke-sized), so the page cannot drift
from the code."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = (REPO / "docs" / "tutorial.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the tutorial section whose heading ends with ``title``."""
    match = re.search(rf"^## \d+\. {re.escape(title)}\n(.*?)(?=^## |\Z)", TUTORIAL, re.S | re.M)
    assert match, f"no section {title!r} in docs/tutorial.md"
    return match.group(1)


def files(text: str) -> dict[str, str]:
    """``{path: code}`` of the section's titled code blocks (```python title="path")."""
    return dict(re.findall(r'```python title="([^"]+)"\n(.*?)```', text, re.S))


def commands(text: str) -> list[list[str]]:
    """The section's shell commands (```bash blocks), comments dropped, each split into words."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line.split())
    return out


def shapes_folder(root: Path, per_class: int = 20) -> None:
    """circle / square / triangle, drawn at random sizes and places (what the tutorial's folder holds)."""
    from PIL import ImageDraw

    rng = np.random.default_rng(0)
    for name in ("circle", "square", "triangle"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            img = Image.new("L", (32, 32), 0)
            d = ImageDraw.Draw(img)
            x, y, s = *rng.integers(2, 10, 2), int(rng.integers(12, 20))
            box = [int(x), int(y), int(x) + s, int(y) + s]
            {"circle": lambda: d.ellipse(box, fill=255), "square": lambda: d.rectangle(box, fill=255),
             "triangle": lambda: d.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])],
                                           fill=255)}[name]()
            img.save(root / name / f"{i:04d}.png")


@pytest.mark.slow
@pytest.mark.parametrize("title, study, variants", [
    ("Your own data", "my_shapes", ("mlp", "cnn")),
    ("Your own model", "my_wide", ("mlp", "wide")),
])
def test_the_tutorial_section_runs_as_written(tmp_path, title, study, variants):
    text = section(title)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "experiments" / "models").mkdir(parents=True)
    if study == "my_wide":  # the model section's spec names a model module the section also writes
        assert "experiments/models/wide.py" in files(text)
    else:
        shapes_folder(tmp_path / "data" / "shapes")
    for path, code in files(text).items():
        (tmp_path / path).write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for words in commands(text):
        assert words[0] == "reportgen", words
        proc = subprocess.run([sys.executable, "-m", "reportgen", *words[1:]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{' '.join(words)}\n{proc.stdout}\n{proc.stderr}"
    for variant in variants:
        result = json.loads((tmp_path / ".smoke" / "results" / study / variant / "seed0.json").read_text(encoding="utf-8"))
        assert result["status"] == "completed", result.get("reason")
        assert len(result["test"]["confusion_matrix"]) == (3 if study == "my_shapes" else 10)
    page = (tmp_path / ".smoke" / "docs" / "studies" / f"{study}.md").read_text(encoding="utf-8")
    assert "Answer" in page
