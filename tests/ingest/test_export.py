"""JSON and GraphML export, and the `kg export` command."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingest.export import to_graphml, to_json
from ingest.vault import outline_relations, read_vault
from kg.cli import app
from kg.model import Graph

BASIC = Path(__file__).resolve().parents[1] / "vaults" / "basic"
GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return read_vault(BASIC, rules=[outline_relations])


def test_json_contract(graph: Graph) -> None:
    data = json.loads(to_json(graph))
    assert list(data) == ["notes", "concepts", "relations", "problems"]
    note = next(n for n in data["notes"] if n["path"] == "RL/GRPO/GRPO.md")
    assert {"path", "title", "tags", "links", "about", "encoding"} <= set(note)
    assert note["about"] == ["grpo"] and note["encoding"] == "utf-8"
    assert {"target", "kind", "line", "alias", "heading", "block", "resolved_note", "concept"} <= set(note["links"][0])
    concept = next(c for c in data["concepts"] if c["key"] == "grpo")
    assert concept["name"] == "GRPO"
    assert "群体相对策略优化" in concept["aliases"]
    assert concept["notes"] == ["RL/GRPO/GRPO-手撕实操.md", "RL/GRPO/GRPO.md"]
    relation = data["relations"][0]
    assert set(relation) == {"type", "source", "target", "confidence", "rule", "note", "line", "evidence"}
    assert {r["type"] for r in data["relations"]} == {"PART_OF"}
    problem = next(p for p in data["problems"] if p["kind"] == "outside_vault")
    assert problem == {
        "path": "RL/GRPO/GRPO-手撕实操.md",
        "line": 3,
        "kind": "outside_vault",
        "message": "link '../../../outside' points outside the vault; not followed",
    }
    keys = [c["key"] for c in data["concepts"]]
    assert keys == sorted(keys)


def test_json_is_deterministic(graph: Graph) -> None:
    assert to_json(read_vault(BASIC, rules=[outline_relations])) == to_json(graph)


def test_graphml_is_well_formed_with_typed_nodes_and_edges(graph: Graph) -> None:
    root = ET.fromstring(to_graphml(graph).encode("utf-8"))
    keys = {k.get("id"): k.get("attr.name") for k in root.iter(f"{GRAPHML}key")}
    assert {"label", "kind", "type", "confidence", "evidence"} <= set(keys.values())
    nodes = {n.get("id"): n for n in root.iter(f"{GRAPHML}node")}
    assert "concept:grpo" in nodes and "note:RL/GRPO/GRPO.md" in nodes and "tag:rl" in nodes
    kinds = {d.text for n in nodes.values() for d in n if d.get("key") == "n_kind"}
    assert kinds == {"concept", "note", "tag", "resource"}
    edges = list(root.iter(f"{GRAPHML}edge"))
    assert all(e.get("source") in nodes and e.get("target") in nodes for e in edges)
    types = {d.text for e in edges for d in e if d.get("key") == "e_type"}
    assert {"PART_OF", "ABOUT", "MENTIONS", "LINKS_TO", "TAGGED", "CITES"} <= types
    about = [e for e in edges if e.get("source") == "note:RL/GRPO/GRPO.md" and e.get("target") == "concept:grpo"]
    assert about
    # yEd shows labels from its own graphics element
    yed_labels = {label.text for label in nodes["concept:grpo"].iter("{http://www.yworks.com/xml/graphml}NodeLabel")}
    assert yed_labels == {"GRPO"}


def test_cli_exports_json_to_stdout_and_graphml_to_a_file(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(BASIC), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert any(c["key"] == "grpo" for c in data["concepts"])
    out = tmp_path / "graph.graphml"
    result = runner.invoke(app, ["export", str(BASIC), "--format", "graphml", "--output", str(out)])
    assert result.exit_code == 0, result.output
    ET.parse(out)


def test_cli_rejects_a_missing_or_non_directory_vault(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["export", str(tmp_path / "nope")])
    assert missing.exit_code == 65
    assert "does not exist" in missing.output and "nope" in missing.output
    a_file = tmp_path / "file.md"
    a_file.write_text("# x", encoding="utf-8")
    not_dir = runner.invoke(app, ["export", str(a_file)])
    assert not_dir.exit_code == 65
    assert "is not a folder" in not_dir.output
    bad_format = runner.invoke(app, ["export", str(BASIC), "--format", "csv"])
    assert bad_format.exit_code == 2


def test_cli_names_a_vault_folder_that_cannot_be_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.md").write_text("# A\n", encoding="utf-8")
    scandir = os.scandir

    def scan(path: str) -> Any:
        if os.path.abspath(path) == str(tmp_path):
            raise PermissionError(13, "Permission denied")
        return scandir(path)

    monkeypatch.setattr(os, "scandir", scan)
    refused = CliRunner().invoke(app, ["export", str(tmp_path)])
    assert refused.exit_code == 65 and "Traceback" not in refused.output
    assert str(tmp_path) in refused.output and "cannot be listed (Permission denied)" in refused.output


def test_graphml_reads_back_with_networkx(graph: Graph, tmp_path: Path) -> None:
    nx = pytest.importorskip("networkx")
    path = tmp_path / "graph.graphml"
    path.write_text(to_graphml(graph), encoding="utf-8")
    read = nx.read_graphml(path)
    assert read.is_directed()
    assert read.nodes["concept:grpo"]["label"] == "GRPO"
    assert read.nodes["concept:grpo"]["notes"] == 2  # typed as int by the key declaration
    assert read.nodes["note:RL/PPO.md"]["kind"] == "note"
    part_of = [
        data
        for _, _, data in read.edges(data=True)
        if data.get("type") == "PART_OF" and data.get("rule") == "outline.list"
    ]
    assert part_of and all(0 < data["confidence"] < 1 for data in part_of)


def test_cli_export_reads_in_several_processes_to_the_same_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    from bench.generate_vault import generate

    vault = generate(250, tmp_path / "v250", seed=4)  # three chunks of notes: two processes take part
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.json"
        done = subprocess.run(
            [sys.executable, "-m", "kg.cli", "export", str(vault), "--jobs", jobs, "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and len(json.loads(outputs[0])["relations"]) > 100
    for command in ("export", "ingest"):  # refused before any note is read or Neo4j is asked
        zero = CliRunner().invoke(app, [command, str(vault), "--jobs", "0"])
        assert zero.exit_code == 2 and "--jobs" in zero.output, (command, zero.output)


def test_kg_process_ends_with_its_output_whole(tmp_path: Path) -> None:
    """`kg` as a process ends with `os._exit`, not freeing the graph it read (`kg.cli.app.hold_until_exit`):
    what it wrote to a pipe is all there, the same as in process, and an error's exit code is kept."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "kg.cli", "export", str(BASIC), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    in_process = CliRunner().invoke(app, ["export", str(BASIC), "--format", "json"])
    assert json.loads(done.stdout) == json.loads(in_process.stdout)
    assert done.stderr.startswith("kg export: ") and done.stderr.endswith(" problems\n")
    unwritable = subprocess.run(
        [sys.executable, "-m", "kg.cli", "export", str(BASIC), "--output", str(tmp_path / "none" / "g.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr
