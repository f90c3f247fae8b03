"""`elmo demo`: the README's main job (shapes and the "bank" cosine table)."""
import re


def parse_tables(stdout):
    """{title: [[float]]} for each cosine table in the demo's output."""
    tables, title = {}, None
    for line in stdout.splitlines():
        m = re.match(r'cosine similarity of "bank", (.*):', line)
        if m:
            title = m.group(1)
            tables[title] = []
        elif title and re.match(r"(river|lender) \d", line):
            tables[title].append([float(x) for x in line.split()[2:]])
    return tables


def test_demo_prints_shapes_and_context_at_work(run, fixture_dir):
    r = run("demo", "--model", fixture_dir)
    assert r.returncode == 0, r.stderr
    assert "all           [3, 9, 32]" in r.stdout
    assert "word_emb      [9, 16]" in r.stdout
    assert "default       [32]" in r.stdout
    tables = parse_tables(r.stdout)
    contextual, free = tables["elmo (contextual)"], tables["word_emb (context-free)"]
    assert len(contextual) == len(free) == 4
    # The same word without context has one vector; in context, four different ones.
    assert all(v == 1.0 for row in free for v in row)
    assert all(contextual[i][i] == 1.0 for i in range(4))
    assert all(contextual[i][j] < 0.999 for i in range(4) for j in range(4) if i != j)
    assert all(contextual[i][j] == contextual[j][i] for i in range(4) for j in range(4))


def test_demo_names_an_unreachable_model_clearly(run):
    r = run("demo", "--model", "original")  # the test's download server is a closed port
    assert r.returncode == 1
    assert "offline" in r.stderr and "local path" in r.stderr


def test_demo_with_a_missing_path(run, tmp_path):
    r = run("demo", "--model", str(tmp_path / "nowhere"))
    assert r.returncode == 1
    assert "nowhere" in r.stderr
