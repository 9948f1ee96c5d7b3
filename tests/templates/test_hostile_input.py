"""Hostile input to ``templates import``: each file refused with one clear line naming it,
exit 65 (5 in a batch where others landed), no traceback, within 1 GiB of address space,
and nothing already in the database changed."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, import_json, list_json, subprocess_env

ONE_GIB = 1 << 30

pytestmark = pytest.mark.usefixtures("backend")


def _hostile_files(folder: Path) -> dict[str, str]:
    """file name -> a word its error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "truncated.json").write_text(json.dumps(workflow("T"))[:-20])
    (folder / "latin1.json").write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    (folder / "numbers.json").write_text("[1, 2, 3]")
    (folder / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (folder / "wrong-types.json").write_text(
        json.dumps({"name": 7, "nodes": {"a": 1}, "connections": []})
    )
    duplicate = workflow("Dup")
    duplicate["nodes"][1]["name"] = duplicate["nodes"][0]["name"]
    (folder / "duplicates.json").write_text(json.dumps(duplicate))
    (folder / "traversal.json").write_text(json.dumps(workflow("../../x")))
    (folder / "control.json").write_text(json.dumps(workflow("bell\x07name")))
    (folder / "bidi.json").write_text(json.dumps(workflow("invoice\u202egnp.exe")))
    return {
        "truncated.json": "invalid JSON",
        "latin1.json": "UTF-8",
        "numbers.json": "number",
        "deep.json": "nesting",
        "wrong-types.json": "name",
        "duplicates.json": "duplicate node name",
        "traversal.json": "..",
        "control.json": "control",
        "bidi.json": "U+202E",
    }


def _huge_workflow(path: Path, nodes: int = 100_000) -> None:
    """~70 MB: a workflow of 100,000 nodes, written without holding it in memory twice."""
    with path.open("w") as stream:
        stream.write('{"name": "Huge", "connections": {}, "nodes": [')
        for index in range(nodes):
            stream.write(
                ("," if index else "")
                + json.dumps(
                    {
                        "id": f"{index:08d}-0000-4000-8000-000000000000",
                        "name": f"Node {index}",
                        "type": "n8n-nodes-base.set",
                        "typeVersion": 3,
                        "position": [index, 0],
                        "parameters": {"value": "x" * 560},
                    }
                )
            )
        stream.write("]}")


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ONE_GIB, ONE_GIB))


def test_each_hostile_file_is_refused_by_name(cli: CliRun, tmp_path: Path) -> None:
    import_json(cli, str(write(tmp_path / "keep", "keep.json", workflow("Kept"))))
    before = list_json(cli)
    expected = _hostile_files(tmp_path / "hostile")
    code, report = import_json(cli, str(tmp_path / "hostile"))
    assert code == ExitCode.DATA_ERR
    errors = {Path(e["path"]).name: e["error"] for e in report["errors"]}
    assert set(errors) == set(expected)
    for name, word in expected.items():
        assert word in errors[name], (name, errors[name])
        assert "\n" not in errors[name]
    assert list_json(cli) == before


def test_hostile_files_beside_good_ones_exit_5_and_the_good_land(
    cli: CliRun, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    _hostile_files(folder)
    write(folder, "good.json", workflow("Good"))
    result = cli("templates", "import", str(folder))
    assert result.exit_code == ExitCode.PARTIAL
    assert "Traceback" not in result.stderr
    assert [t["name"] for t in list_json(cli)] == ["Good"]


def test_a_70_mb_workflow_is_refused_within_a_gib(tmp_path: Path, backend: Backend) -> None:
    huge = tmp_path / "huge.json"
    _huge_workflow(huge)
    assert huge.stat().st_size > 60_000_000
    result = subprocess.run(
        [PUMPFLIX, "templates", "import", str(huge), "--json"],
        env=subprocess_env(backend.env),
        capture_output=True,
        text=True,
        preexec_fn=_limited,
        check=False,
        timeout=120,
    )
    assert result.returncode == ExitCode.DATA_ERR, result.stderr
    (error,) = json.loads(result.stdout)["errors"]
    assert error["path"] == str(huge)
    assert "limit" in error["error"]
    assert "Traceback" not in result.stderr


def test_a_70_mb_workflow_under_a_raised_limit_still_stays_within_a_gib(
    tmp_path: Path, backend: Backend
) -> None:
    huge = tmp_path / "huge.json"
    _huge_workflow(huge)
    env = subprocess_env(backend.env) | {"PUMPFLIX_MAX_FILE_BYTES": str(200_000_000)}
    result = subprocess.run(
        [PUMPFLIX, "templates", "import", str(huge), "--json", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_limited,
        check=False,
        timeout=300,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode in (ExitCode.OK, ExitCode.DATA_ERR), result.stderr


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["name", "nodes", "connections", "type", "parameters", "main", "node", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=json_values)
def test_fuzzed_documents_never_crash_the_import(
    cli: CliRun, tmp_path: Path, document: Any
) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(document))
    result = cli("templates", "import", str(path), "--json", "--dry-run")
    assert result.exit_code in (ExitCode.OK, ExitCode.DATA_ERR), result.stderr
    assert "Traceback" not in result.stderr
    json.loads(result.stdout)
