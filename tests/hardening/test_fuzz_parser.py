"""Bounded fuzzing of the parser: `parse_note` on any text and `read_vault` on any bytes never raise.

Hypothesis builds notes from the pieces users write (front matter fences, YAML/TOML fragments,
wiki/markdown links, tags, headings, lists, tables, code fences, CJK, mojibake, control
characters) glued in random order, plus arbitrary text and bytes. Example counts and a per-example
deadline keep the whole file within CI time; a hang shows up as a deadline failure.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.vault import parse_note, read_vault
from kg.model import Graph

PIECES = [
    "---\n", "+++\n", "---", "title: GRPO\n", "title = 'x'\n", "tags: [a, b/c]\n", "tags: a\n", "aliases:\n  - x\n",
    "up: [[X]]\n", 'prerequisites: ["[[PPO]]"]\n', "a: &a [1,2]\nb: *a\n", "date: 2025-08-07T00:00:00+08:00\n",
    "{{date}}\n", ": : :\n", "- [", "[[", "]]", "[[GRPO]]", "[[a/b|c]]", "[[N#H]]", "[[#H]]", "[[N#^b]]",
    "![[x.png|100]]", "[[N\\|a]]",
    "[t](./a.md)", "[t](../../x.md)", "[t](/etc/passwd)", "https://x.org/a#b", "#tag", "#a/b", "#1984",
    "# H\n", "## 5.3 GQA / MQA\n", "###### h\n", "- item\n", "  - sub\n", "1. one\n", "> quote\n", "| a | b |\n",
    "|---|---|\n", "```\n", "`code [[x]]`", "$$x$$", "\n", "\r\n", "\t", " ", "\ufeff", "\x00", "\u200b",
    "前置知识：", "基于 ", "支持 ", "及其变体", "等变体", "builds on ", "variants of ", "群体相对策略优化（GRPO）",
    "â€œ", "Ã©", "ç»¼è¿°", "从 RLHF、PPO 到 GRPO", "A → B", "prerequisite:: [[X]]", "- prerequisite [[Y]]",
    "比 PPO 更省显存的 GRPO",
]  # fmt: skip

note_text = st.one_of(
    st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=60).map("".join),
    st.text(max_size=400),
)


def _check_graph(graph: Graph) -> None:
    for path, note in graph.notes.items():
        assert note.path == path
        for link in note.links:
            assert link.resolved_note is None or link.resolved_note in graph.notes
    for relation in graph.relations:
        assert 0.0 <= relation.confidence <= 1.0
        assert relation.note in graph.notes


@settings(max_examples=1500, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])
@given(
    text=note_text, path=st.sampled_from(["n.md", "a/b/GRPO-手撕实操.md", "README.md", "目录.md", "x/001_5509ce86.md"])
)
def test_parse_note_never_raises(text: str, path: str) -> None:
    parsed = parse_note(path, text)
    assert parsed.note.path == path
    for link in parsed.note.links:
        assert link.line >= 1


@settings(max_examples=200, deadline=timedelta(seconds=20), suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["a.md", "b.md", "sub/c.md", "sub/GRPO.md", "PPO 概述.md", "x.markdown", ".hidden/d.md"]),
            st.one_of(note_text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300)),
        ),
        max_size=6,
    )
)
def test_read_vault_never_raises_on_any_bytes(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        written: set[str] = set()
        for rel, data in files:
            file = root / rel
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
            written.add(rel)
        graph = read_vault(root)
        _check_graph(graph)
        # Every visible note file is either read or reported; hidden folders are never read.
        reported = {p.path for p in graph.problems}
        for rel in written:
            if rel.startswith("."):
                assert rel not in graph.notes
            else:
                assert rel in graph.notes or rel in reported, (rel, sorted(graph.notes), graph.problems)
        assert all(not os.path.isabs(p) and not p.startswith("..") for p in graph.notes)
