"""The "Coming from AllenNLP, TF Hub or vectorhub" section of bindings/python/README.md, run:
every "after" snippet is its "before" snippet with only the import lines changed, runs as a
script in a fresh interpreter (the model paths and the TF Hub / vectorhub default handle served
from a local HTTP server as the fixture model) and prints the shapes its comments show, for
the fixture model's widths (32 for 1024, 16 for 512)."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPOSITORY
from http_server import FileServer, spec_files

README = os.path.join(REPOSITORY, "bindings", "python", "README.md")
SECTION = "## Coming from AllenNLP, TF Hub or vectorhub"

#: The only lines an "after" snippet may change: the imports.
IMPORTS = {
    "from allennlp.commands.elmo import ElmoEmbedder": "from elmo.allennlp import ElmoEmbedder",
    "from allennlp.modules.elmo import Elmo, batch_to_ids": "from elmo.allennlp import Elmo, batch_to_ids",
    "import tensorflow_hub as hub": "import elmo.hub as hub",
    "from vectorhub.encoders.text.tfhub import Elmo2Vec": "from elmo import Elmo2Vec",
}


def snippets():
    """(title, before, after) for each pair of python blocks in the section."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    assert SECTION in text, "the README lost its drop-in section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    pairs = []
    for part in section.split("\n### ")[1:]:
        title = part.split("\n", 1)[0]
        blocks = re.findall(r"```python\n(.*?)```", part, flags=re.S)
        if blocks:
            assert len(blocks) == 2 and blocks[0].startswith("# before\n") and blocks[1].startswith("# after\n"), title
            pairs.append((title, blocks[0].split("\n", 1)[1], blocks[1].split("\n", 1)[1]))
    return pairs


def expected_output(code):
    """What the snippet's comments say it prints, with the fixture model's widths."""
    lines, pending = [], False
    for line in code.splitlines():
        stripped = line.strip()
        if pending and stripped.startswith("# "):
            lines.append(stripped[2:])
        pending = False
        if stripped.startswith("print(") or " print(" in line:
            if "#" in line.split("print(", 1)[1]:
                lines.extend(part.strip() for part in line.rsplit("#", 1)[1].split(" then "))
            else:
                pending = True
    return [line.replace("1024", "32").replace("512", "16") for line in lines]


PAIRS = snippets()


def test_the_section_has_every_api():
    assert [title for title, _, _ in PAIRS] == ["AllenNLP 0.9: `ElmoEmbedder`",
                                                 "AllenNLP 0.9: the `Elmo` module and `batch_to_ids`",
                                                 "TF Hub: `google/elmo`", "vectorhub: `Elmo2Vec`"]


@pytest.mark.parametrize("title,before,after", PAIRS, ids=[p[0] for p in PAIRS])
def test_after_is_before_with_only_the_import_changed(title, before, after):
    changed = "\n".join(IMPORTS.get(line, line) for line in before.split("\n"))
    assert changed == after
    assert before != after


@pytest.mark.parametrize("title,before,after", PAIRS, ids=[p[0] for p in PAIRS])
def test_after_runs_and_prints_the_shapes_shown(title, before, after, fixture_dir, tmp_path):
    if "torch" in title or "Elmo` module" in title:
        pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0+cpu)")
    prelude = (f"options_file = {os.path.join(fixture_dir, 'options.json')!r}\n"
               f"weight_file = {os.path.join(fixture_dir, 'lm_weights.hdf5')!r}\n")
    with FileServer(spec_files(fixture_dir, names=("original",))) as server:
        env = dict(os.environ, ELMO_DOWNLOAD_BASE_URL=server.base_url, ELMO_CACHE_DIR=str(tmp_path / "cache"))
        result = subprocess.run([sys.executable, "-c", prelude + after], capture_output=True, text=True,
                                cwd=str(tmp_path), env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected_output(after)
