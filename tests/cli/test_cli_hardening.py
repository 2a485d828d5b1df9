"""Hostile or careless command-line input gets a clear error (exit 2), never a crash: plugin
module names, ``plugin new`` names, markup in user text, option bounds, ``show`` paths,
``requires:`` versions and a closed pipe."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

import specc.errors
from specc.cli import main
from specc.errors import SpecError
from specc.registry import isolated

BAD = "specc: 1\ninputs: {x: [8]}\nlayers:\n  - dense: {units: -1}\n"
SPECC = [sys.executable, "-c", "from specc.cli import main; main()"]


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner(env=env).invoke(main, list(args))
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result


# -- plugin modules ------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["specc", "specc.errors", "specc.layers.dense"])
def test_plugin_option_refuses_speccs_own_modules(module, spec_file):
    error_class = specc.errors.SpecError
    bad = spec_file(BAD)
    r = run("validate", "--plugin", module, str(bad))
    assert r.exit_code == 2
    assert f"specc's own modules are not plugins (received '{module}')" in r.output
    assert sys.modules["specc.errors"].SpecError is error_class  # never re-imported
    r = run("validate", str(bad))  # user errors are still user errors afterwards
    assert r.exit_code == 2 and "layers[0].dense.units: must be > 0" in r.output


@pytest.mark.parametrize("module", ["../x", "my layers", "x.", "9lives", "a/b", "x\n"])
def test_plugin_option_refuses_names_that_are_not_modules(module):
    r = run("layers", "--plugin", module)
    assert r.exit_code == 2
    assert "a plugin is an importable module name" in r.output
    assert f"(received {module!r})" in r.output


@pytest.mark.parametrize("value,message", [
    ("specc.errors", "SPECC_PLUGINS: specc's own modules are not plugins"),
    ("good_mod, bad mod", "SPECC_PLUGINS: a plugin is an importable module name"),
    ("no_such_module_xyz", "SPECC_PLUGINS: plugin module 'no_such_module_xyz' was not found"),
])
def test_specc_plugins_errors_name_the_variable(value, message, monkeypatch):
    monkeypatch.setenv("SPECC_PLUGINS", value)
    monkeypatch.setitem(sys.modules, "good_mod", type(sys)("good_mod"))
    with isolated(discover=True) as regs, pytest.raises(SpecError) as exc:
        regs.ensure_discovered()
    assert str(exc.value).startswith(message)
    (issue,) = exc.value.issues
    assert issue.path == ("SPECC_PLUGINS",)


def test_specc_plugins_env_in_a_fresh_process(spec_file):
    env = {**os.environ, "SPECC_PLUGINS": "specc.errors"}
    proc = subprocess.run([*SPECC, "validate", str(spec_file(BAD))], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "SPECC_PLUGINS: specc's own modules are not plugins" in proc.stderr


# -- plugin new --------------------------------------------------------------------------


@pytest.mark.parametrize("layer,message", [
    ("class", "a layer kind name cannot be a Python keyword"),
    ("lambda", "a layer kind name cannot be a Python keyword"),
    ("dense", "'dense' is already a layer kind (from specc)"),
    ("fully_connected", "'fully_connected' is already an alias of 'dense' (from specc)"),
    ("params", "a layer kind named 'params' would hide 'Params' in its module"),
    ("field", "would hide 'Field'"),
    ("Bad", "a layer kind name is snake_case"),
])
def test_plugin_new_refuses_bad_layer_names(layer, message, tmp_path):
    dest = tmp_path / "pkg"
    r = run("plugin", "new", "my-layers", "--dir", str(dest), "--layer", layer)
    assert r.exit_code == 2 and message in r.output
    assert "--layer: " in r.output and f"(received '{layer}')" in r.output
    assert not dest.exists()  # nothing written


def test_plugin_new_refuses_a_kind_taken_by_an_installed_plugin(tmp_path):
    class Taken:
        name = "taken_kind"

    with isolated(discover=True) as regs:
        regs.layers.register(Taken, provider="other-layers")
        r = run("plugin", "new", "my-layers", "--dir", str(tmp_path / "p"), "--layer",
                "taken_kind")
    assert r.exit_code == 2
    assert "'taken_kind' is already a layer kind (from other-layers)" in r.output


@pytest.mark.parametrize("name,message", [
    ("specc", "a plugin package cannot be named like specc itself"),
    ("json", "the package 'json' would shadow an existing module of that name"),
    ("Click", "the package 'click' would shadow an existing module"),
    ("tests", "the package 'tests' would shadow"),
    ("class", "the package would be named 'class', which Python cannot import"),
    ("my layers!", "a plugin name is a distribution name"),
])
def test_plugin_new_refuses_names_that_shadow_or_do_not_import(name, message, tmp_path,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("plugin", "new", name)
    assert r.exit_code == 2 and message in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_never_overwrites(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("keep")
    r = run("plugin", "new", "my-layers", "--dir", str(a_file))
    assert r.exit_code == 2 and "is a file" in r.output
    assert a_file.read_text() == "keep"
    full = tmp_path / "full"
    full.mkdir()
    (full / "README.md").write_text("mine")
    r = run("plugin", "new", "my-layers", "--dir", str(full))
    assert r.exit_code == 2 and "exists and is not empty" in r.output
    assert (full / "README.md").read_text() == "mine"
    link = tmp_path / "link"
    empty = tmp_path / "empty"
    empty.mkdir()
    link.symlink_to(empty)
    r = run("plugin", "new", "my-layers", "--dir", str(link))
    assert r.exit_code == 2 and list(empty.iterdir()) == []
    r = run("plugin", "new", "my-layers", "--dir", str(empty))  # an empty folder is fine
    assert r.exit_code == 0, r.output
    assert (empty / "my_layers" / "gated_dense.py").is_file()
    r = run("plugin", "new", "my-layers", "--dir", "/proc/no/such/place")
    assert r.exit_code == 2 and "--dir: cannot write the plugin package" in r.output


def test_plugin_new_soft_keyword_layer_compiles(tmp_path):
    dest = tmp_path / "p"
    r = run("plugin", "new", "my-layers", "--dir", str(dest), "--layer", "match")
    assert r.exit_code == 0, r.output
    for path in dest.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # every file is valid Python


# -- user text is printed literally ---------------------------------------------------------

NASTY = ["[/x]", "[bold]b", "c\\", "[red]", "x[/]y", "\\[z]"]


@pytest.mark.parametrize("terminal", [False, True])
def test_say_and_tables_print_user_text_literally(terminal, capsys, monkeypatch):
    from specc.cli.app import print_table, say

    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    monkeypatch.setenv("COLUMNS", "200")
    for text in NASTY:
        say(("trained", "green"), f" {text}: done")
        print_table(("name", text), [(text, "1"), ("multi_head_attention_" * 3, text)],
                    title=text)
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().out)  # colours
    for text in NASTY:
        assert f"trained {text}: done" in out
        assert sum(line.split() == ["name", text] for line in out.splitlines()) == 1
        assert out.count(text) >= 5
    assert "multi_head_attention_" * 3 in out and "…" not in out


@pytest.mark.parametrize("terminal", [False, True])
def test_errors_quote_user_text_literally(terminal, capsys, monkeypatch):
    from specc.cli.app import report_error

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    received = "a\\[/x] [bold]b[/] :smile: c\\"
    report_error(SpecError("must be an integer", path=("layers", 0, "dense", "units"),
                           received=received, hint="see [red]this[/]"))
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)
    assert err.splitlines() == [f"layers[0].dense.units: must be an integer (received "
                                f"{received!r})", "  hint: see [red]this[/]"]


def test_written_paths_are_printed_literally(tmp_path):
    out = tmp_path / "[bold]a[x] [red].json"
    r = run("schema", "-o", str(out))
    assert r.exit_code == 0 and r.output == f"wrote {out}\n" and out.is_file()


@pytest.fixture(scope="module")
def marked_run(tmp_path_factory):
    """A trained run whose name and class labels look like rich markup."""
    root = tmp_path_factory.mktemp("marked")
    spec = root / "s.yaml"
    spec.write_text(MARKED)
    r = CliRunner().invoke(main, ["train", str(spec), "--out", str(root / "run")])
    assert r.exit_code == 0, r.output
    assert "trained m[bold]x[red]: " in r.output
    return root / "run"


MARKED = """\
specc: 1
name: "m[bold]x[red]"
labels: ["[/a]", "[bold]b", "c\\\\"]
inputs: {x: [4]}
layers:
  - dense: {units: 3, activation: softmax}
train:
  data: {dataset: iris, split: {val: 0.3, seed: 0}, scale: standard}
  loss: cross_entropy
  optimizer: {adam: {lr: 0.05}}
  epochs: 1
  batch_size: full
  metrics: [accuracy]
"""


def test_evaluate_prints_markup_labels_literally(marked_run):
    r = run("evaluate", str(marked_run))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("val split: 45 samples, checkpoint best (epoch 1)")
    header = next(line for line in lines if line.startswith("true \\ predicted"))
    assert header.split()[3:] == ["[/a]", "[bold]b", "c\\"]
    rows = [line.split() for line in lines[lines.index(header) + 1:]]
    assert [row[0] for row in rows] == ["[/a]", "[bold]b", "c\\"]
    assert sum(int(v) for row in rows for v in row[1:]) == 45
    accuracy = next(line for line in lines if line.startswith("accuracy "))
    r = run("evaluate", str(marked_run), "--json")
    d = json.loads(r.output)
    assert d["labels"] == ["[/a]", "[bold]b", "c\\"] and d["n"] == 45
    assert d["split"] == "val" and d["checkpoint"] == "best" and d["epoch"] == 1
    assert sum(map(sum, d["confusion"])) == 45
    assert float(accuracy.split()[1]) == pytest.approx(d["accuracy"], abs=1e-5)
    assert d["accuracy"] == pytest.approx(
        sum(d["confusion"][i][i] for i in range(3)) / 45, abs=1e-6)


# -- option bounds -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--threads", "5000"], ["--threads", "0"], ["--nproc", "65"], ["--nproc", "0"],
])
def test_train_threads_and_nproc_are_bounded(args, spec_file):
    r = run("train", str(spec_file(BAD)), *args)
    assert r.exit_code == 2
    assert f"Invalid value for '{args[0]}'" in r.output and "range" in r.output


def test_specc_threads_env_is_bounded(spec_file):
    r = run("train", str(spec_file(BAD)), env={"SPECC_THREADS": "5000"})
    assert r.exit_code == 2 and "Invalid value for '--threads'" in r.output


@pytest.mark.parametrize("args", [["--length", "1000000000"], ["--length", "-1"],
                                  ["--seed", "-1"], ["--seed", str(2**70)]])
def test_generate_options_are_bounded(args, tmp_path):
    r = run("generate", str(tmp_path), *args)
    assert r.exit_code == 2 and f"Invalid value for '{args[0]}'" in r.output


def test_generate_api_bounds_and_tampered_vocabulary(marked_run, tmp_path):
    from specc.text_generation import generate

    with pytest.raises(SpecError, match=r"--length: the length must be between 0 and 100,000"):
        generate(marked_run, length=10**9)
    with pytest.raises(SpecError, match=r"--prompt: the prompt is longer than 100,000"):
        generate(marked_run, prompt="a" * 100_001)
    run_dir = tmp_path / "run"
    shutil.copytree(marked_run, run_dir)
    for record, message in [({"vocab": [1, 2]}, "not a list of distinct characters"),
                            ({"vocab": ["ab"]}, "not a list of distinct characters"),
                            ({"vocab": ["a", "a"]}, "not a list of distinct characters"),
                            ([1, 2], "has no character vocabulary")]:
        (run_dir / "data.json").write_text(json.dumps(record))
        r = run("generate", str(run_dir))
        assert r.exit_code == 2 and message in r.output, r.output
    (run_dir / "data.json").write_text("[" * 100_000)
    r = run("generate", str(run_dir))
    assert r.exit_code == 2 and "cannot read the run's data record" in r.output


# -- show takes built-in names only ---------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "../specs/dcn", "/etc/hostname", "dcn/..", "a\\b",
                                  "", "..", "x" * 200])
def test_show_never_reads_outside_the_builtin_folder(name, tmp_path, monkeypatch):
    from specc.spec.builtin import builtin_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text("secret: 1\n")
    r = run("show", name)
    assert r.exit_code == 2 and "secret" not in r.output
    assert builtin_path(name) is None


def test_show_path_error_says_what_show_takes():
    r = run("show", "../../x")
    assert r.exit_code == 2
    assert "show takes the name of a built-in spec, not a path (received '../../x')" in r.output


# -- requires: versions ---------------------------------------------------------------------


@pytest.mark.parametrize("req,message", [
    ("specc>=abc", "requires[0]: 'abc' is not a version"),
    ("specc>=1.x", "requires[0]: '1.x' is not a version"),
    ("specc==" + "9" * 5000, "is not a version"),
    ("specc~=1", "requires[0]: '~=' needs a version with at least two parts"),
])
def test_requires_invalid_version_is_an_error(req, message, spec_file):
    from specc.assembled import load

    path = spec_file(f"specc: 1\nrequires: [{json.dumps(req)}]\ninputs: {{x: [3]}}\n"
                     "layers:\n  - dense: {units: 2}\n")
    with pytest.raises(SpecError) as exc:
        load(path)
    (issue,) = exc.value.issues
    assert issue.line == 2 and message in issue.text()


def test_requires_valid_versions_still_work(spec_file):
    from specc.assembled import load

    for req in ("specc>=0.1", "specc>=0.1.0rc1", "specc<99", "specc~=0.1", "specc!=0.0.1.dev3"):
        path = spec_file(f"specc: 1\nrequires: [{json.dumps(req)}]\ninputs: {{x: [3]}}\n"
                         "layers:\n  - dense: {units: 2}\n")
        assert load(path).graph.nodes["dense_1"].kind == "dense"


# -- a reader that stops early --------------------------------------------------------------


def test_closed_pipe_is_not_an_internal_error():
    proc = subprocess.Popen([*SPECC, "show", "dcn", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # like `specc show dcn --json | head -0`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"internal error" not in err, err
