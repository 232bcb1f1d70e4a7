"""Reading the hand-written vault `tests/vaults/basic` (and variants of it) into a Graph."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.vault import (
    NoteResolver,
    VaultFolderError,
    list_vault,
    outline_relations,
    parse_note,
    read_vault,
    read_vault_parsed,
)
from kg.model import Graph, Link, ProblemKind, RelationType

# Only this rule, so these tests do not depend on the typed-relation rules.
RULES = [outline_relations]
BASIC = Path(__file__).resolve().parents[1] / "vaults" / "basic"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return read_vault(BASIC, rules=RULES)


def links(graph: Graph, path: str) -> list[Link]:
    return graph.notes[path].links


def problems_of(graph: Graph, kind: ProblemKind) -> list[tuple[str, int | None]]:
    return sorted((p.path, p.line) for p in graph.problems if p.kind == kind)


def test_notes_read_and_hidden_or_binary_files_skipped(graph: Graph) -> None:
    assert "RL/PPO.md" in graph.notes
    assert "Hugo/hugo-page.md" in graph.notes
    assert not any(path.startswith((".obsidian", ".trash")) for path in graph.notes)
    assert "Architecture/binary.md" not in graph.notes
    assert problems_of(graph, ProblemKind.BINARY) == [("Architecture/binary.md", None)]
    assert not any(path.endswith(".png") for path in graph.notes)


def test_links_in_code_math_and_comments_do_not_count(graph: Graph) -> None:
    targets = {link.target for note in graph.notes.values() for link in note.links}
    assert not {t for t in targets if t.startswith("Fake")}
    assert "fake in inline code" not in graph.concepts


def test_wiki_link_forms_resolve(graph: Graph) -> None:
    grpo = {(link.kind, link.target): link for link in links(graph, "RL/GRPO/GRPO.md")}
    assert grpo[("wiki", "RL/PPO")].resolved_note == "RL/PPO.md"  # `[[RL/PPO\|PPO]]` in a table
    assert grpo[("wiki", "RL/PPO")].alias == "PPO"
    assert grpo[("embed", "GRPO-手撕实操")].resolved_note == "RL/GRPO/GRPO-手撕实操.md"
    assert grpo[("embed", "assets/diagram.png")].concept is None
    assert grpo[("url", "https://arxiv.org/abs/2402.03300")].concept is None
    assert "https://arxiv.org/abs/2402.03300" in graph.notes["RL/GRPO/GRPO.md"].resources
    ppo = links(graph, "RL/PPO.md")
    assert [(link.target, link.heading, link.block) for link in ppo] == [
        ("TRPO", None, None),
        ("GAE", "公式", None),
        ("GAE", None, "gae-def"),
    ]


def test_dangling_links_still_name_concepts(graph: Graph) -> None:
    trpo = links(graph, "RL/PPO.md")[0]
    assert trpo.resolved_note is None
    assert trpo.concept == "trpo" and "trpo" in graph.concepts
    assert "notwrittenyet" in graph.concepts


def test_same_named_notes_in_two_folders_are_kept_apart(graph: Graph) -> None:
    inference, architecture = "Inference/Attention/Attention.md", "Architecture/Attention/Attention.md"
    assert inference in graph.notes and architecture in graph.notes
    own_folder, explicit = links(graph, inference)
    assert own_folder.resolved_note == inference  # `[[Attention]]`: the note in the linking note's folder
    assert explicit.resolved_note == architecture  # `[[Architecture/Attention/Attention|…]]`
    assert sorted(graph.concepts["attention"].notes) == [architecture, inference]


def test_markdown_links_resolve_relative_to_the_note(graph: Graph) -> None:
    flash = links(graph, "Inference/FlashAttention.md")
    assert flash[0].resolved_note == "Inference/Attention/Attention.md"
    impl = {link.target: link for link in links(graph, "RL/GRPO/GRPO-手撕实操.md")}
    assert impl["../PPO"].resolved_note == "RL/PPO.md"
    outside = impl["../../../outside"]
    assert outside.resolved_note is None and outside.concept is None
    assert problems_of(graph, ProblemKind.OUTSIDE_VAULT) == [("RL/GRPO/GRPO-手撕实操.md", 3)]


def test_a_markdown_link_to_a_folder_resolves_to_its_index_note_in_order() -> None:
    # readme, index, _index, the folder's own name, 目录, _moc: the first the folder holds
    names = ["_moc", "目录", "Papers", "_index", "index", "README"]
    resolver = NoteResolver(f"Papers/{name}.md" for name in names)
    for i, name in enumerate(reversed(names)):
        assert resolver.markdown("Papers/", "home.md") == (f"Papers/{name}.md", False)
        resolver = NoteResolver(f"Papers/{other}.md" for other in names[: len(names) - 1 - i])
    assert NoteResolver(["Papers/Other.md"]).markdown("Papers/", "home.md") == (None, False)  # none of them


def test_tags_from_front_matter_and_text(graph: Graph) -> None:
    assert graph.notes["RL/PPO.md"].tags == ["rl", "rl/policy-gradient", "fff"]  # `#1984` is no tag
    assert graph.notes["RL/GRPO/GRPO.md"].tags == ["rl"]  # a plain string; `#not-a-tag` is in code
    assert graph.notes["Hugo/json-page.md"].tags == ["json", "hugo"]


def test_front_matter_formats(graph: Graph) -> None:
    hugo = graph.notes["Hugo/hugo-page.md"]
    assert hugo.title == "开源框架"
    assert hugo.front_matter["date"] == "2025-08-07T00:00:00+08:00"
    assert hugo.links == []  # `[[items]]` + `name = …` is TOML, not a link
    assert graph.notes["Hugo/json-page.md"].title == "JSON 页面"


def test_broken_front_matter_is_a_problem_and_the_body_is_read(graph: Graph) -> None:
    broken = graph.notes["Hugo/broken-yaml.md"]
    assert broken.tags == ["still-read"]
    assert [link.resolved_note for link in broken.links] == ["RL/PPO.md"]
    front_matter_problems = problems_of(graph, ProblemKind.FRONT_MATTER)
    assert ("Hugo/broken-yaml.md", 3) in front_matter_problems
    # Templater `{{date}}` breaks the YAML, but the other keys are kept; `up: [[X]]` is read as a link.
    assert ("Frameworks/veRL.md", 4) in front_matter_problems
    verl = graph.notes["Frameworks/veRL.md"]
    assert verl.front_matter["title"] == "veRL" and "date" not in verl.front_matter
    up = [link for link in verl.links if link.front_matter_key == "up"]
    assert [(link.target, link.line, link.resolved_note) for link in up] == [
        ("Frameworks 目录", 3, "Frameworks/Frameworks 目录.md")
    ]
    assert ("Frameworks/Frameworks 目录.md", 2) in front_matter_problems


def test_encodings(graph: Graph) -> None:
    assert graph.notes["Encodings/gb18030-note.md"].encoding == "gb18030"
    assert graph.notes["Encodings/gb18030-note.md"].title == "中文编码笔记"
    assert graph.notes["Encodings/bom-note.md"].encoding == "utf-8-sig"
    assert graph.notes["Encodings/bom-note.md"].title == "BOM 笔记"
    assert graph.notes["RL/PPO.md"].encoding == "utf-8"


def test_concept_identity_across_spellings(graph: Graph) -> None:
    grpo = graph.concepts["grpo"]
    assert grpo.name == "GRPO"
    assert {"群体相对策略优化", "Group Relative Policy Optimization", "GRPO-手撕实操"} <= grpo.aliases
    assert sorted(grpo.notes) == ["RL/GRPO/GRPO-手撕实操.md", "RL/GRPO/GRPO.md"]
    assert graph.notes["RL/GRPO/GRPO-手撕实操.md"].kind == "implementation"
    assert graph.notes["RL/GRPO/GRPO-手撕实操.md"].about == ["grpo"]
    # veRL / VERL / verl: one concept, two notes
    assert sorted(graph.concepts["verl"].notes) == ["Frameworks/veRL.md", "Frameworks/verl_notes.md"]
    assert graph.concepts["flashattention"].aliases >= {"Flash Attention"}
    assert {"gqa", "mqa"} <= set(graph.concepts)  # `GQA / MQA` names two concepts


def test_outline_note_headings_and_items_are_part_of_their_parents(graph: Graph) -> None:
    roadmap = "RL/RL 路线图.md"
    assert graph.notes[roadmap].kind == "roadmap"
    part_of = {(r.source, r.target): r for r in graph.relations if r.type is RelationType.PART_OF}
    assert ("grpo", "策略优化") in part_of  # `### 2.2 群体相对策略优化（GRPO）` under `## 2. 策略优化`
    assert ("状态价值函数", "价值函数") in part_of  # nested list item under its parent item
    assert ("mdp", "基础") in part_of
    assert ("基础", "强化学习") in part_of  # a chapter is part of the note's own concept
    relation = part_of[("状态价值函数", "价值函数")]
    assert relation.rule == "outline.list" and 0 < relation.confidence < 1
    assert (relation.note, relation.line, relation.evidence) == (roadmap, 20, "- 状态价值函数")
    enumeration = part_of[("rm", "对齐算法")]
    assert enumeration.rule == "outline.enumeration"
    # nothing under boilerplate sections, no boilerplate concept
    assert "某论文笔记" not in graph.concepts
    for name in ("目录", "参考文献与相关内容", "相关moc", "导航"):
        assert name not in graph.concepts


def test_outline_only_for_outline_notes(graph: Graph) -> None:
    assert not any(r.note == "RL/PPO.md" for r in graph.relations)


def test_mentions_carry_context(graph: Graph) -> None:
    roadmap = graph.notes["RL/RL 路线图.md"]
    mention = next(m for m in roadmap.mentions if m.concept == "状态价值函数")
    assert mention.source == "list_item"
    assert mention.list_depth == 2
    assert mention.heading_path == ("强化学习路线图", "1. 基础")
    grpo = graph.notes["RL/GRPO/GRPO.md"]
    cell = next(m for m in grpo.mentions if m.source == "wikilink" and m.concept == "ppo")
    assert cell.table_row == 0
    prose = [m for m in graph.notes["Frameworks/veRL.md"].mentions if m.source == "text"]
    assert {"grpo", "ppo"} <= {m.concept for m in prose}


def test_parsed_note_context_for_relation_rules() -> None:
    _, parsed, index = read_vault_parsed(BASIC, rules=RULES)
    roadmap = next(p for p in parsed if p.path == "RL/RL 路线图.md")
    quote = roadmap.context(10)
    assert quote.text == "> 前置知识：[[Transformer]]"
    assert quote.blockquote and [link.concept for link in quote.links] == ["transformer"]
    assert roadmap.context(20).list_depth == 2
    assert roadmap.context(25).heading_level == 3
    assert roadmap.context(25).heading_path == ("强化学习路线图", "2. 策略优化")
    assert roadmap.front_matter_data["type"] == "roadmap"
    assert index.resolve("群体相对策略优化（GRPO）") == "grpo"
    assert index.resolve("RL Roadmap") == index.resolve("强化学习")


def test_parse_note_is_pure() -> None:
    text = "---\ntitle: X\n---\n# X\n- [[A]]\n"
    first, second = parse_note("a/X.md", text), parse_note("a/X.md", text)
    assert first.note == second.note
    assert [link.target for link in first.note.links] == ["A"]


@pytest.fixture
def vault_copy(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "vault"
    shutil.copytree(BASIC, root, symlinks=True)
    yield root


def test_size_cap_is_a_reported_skip(vault_copy: Path) -> None:
    big = vault_copy / "big.md"
    big.write_text("# big\n" + "x" * 5000, encoding="utf-8")
    graph = read_vault(vault_copy, max_file_bytes=4000, rules=RULES)
    assert "big.md" not in graph.notes
    assert [p.path for p in graph.problems if p.kind is ProblemKind.TOO_LARGE] == ["big.md"]
    assert "RL/PPO.md" in graph.notes


def test_a_read_given_a_listing_reads_what_it_listed_and_reports_its_problems(vault_copy: Path) -> None:
    (vault_copy / "big.md").write_text("# big\n" + "x" * 5000, encoding="utf-8")
    listing = list_vault(vault_copy, max_file_bytes=4000)
    (vault_copy / "Later.md").write_text("# Later\n[[PPO]]\n", encoding="utf-8")  # after the listing
    listed = {file.path for file, _ in listing.files}
    graph = read_vault(vault_copy, max_file_bytes=4000, rules=RULES, listing=listing)
    assert set(graph.notes) <= listed  # (binary files are listed, not notes)
    assert "Later.md" not in graph.notes and "RL/PPO.md" in graph.notes
    assert [p.path for p in graph.problems if p.kind is ProblemKind.TOO_LARGE] == ["big.md"]
    # the same graph as a read that lists the vault itself, once the later note is gone again
    (vault_copy / "Later.md").unlink()
    assert graph == read_vault(vault_copy, max_file_bytes=4000, rules=RULES)
    with pytest.raises(ValueError, match=r"listing: of .* was read already; list the vault again"):
        read_vault(vault_copy, max_file_bytes=4000, rules=RULES, listing=listing)  # its files were taken over
    with pytest.raises(ValueError, match=r"listing: of .* under a 4000-byte limit, not of .* under 5000"):
        read_vault(vault_copy, max_file_bytes=5000, rules=RULES, listing=list_vault(vault_copy, max_file_bytes=4000))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_out_of_the_vault_are_reported_not_followed(vault_copy: Path, tmp_path: Path) -> None:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "secret.md").write_text("# secret\n[[Leaked]]\n", encoding="utf-8")
    (vault_copy / "linked-dir").symlink_to(secret_dir, target_is_directory=True)
    (vault_copy / "linked.md").symlink_to(secret_dir / "secret.md")
    (vault_copy / "inside.md").symlink_to(vault_copy / "RL" / "PPO.md")
    graph = read_vault(vault_copy, rules=RULES)
    assert not any("secret" in path or path.startswith("linked") for path in graph.notes)
    assert "leaked" not in graph.concepts
    assert sorted(p.path for p in graph.problems if p.kind is ProblemKind.OUTSIDE_VAULT) == [
        "RL/GRPO/GRPO-手撕实操.md",
        "linked-dir",
        "linked.md",
    ]
    assert "inside.md" in graph.notes  # a link that stays inside is read


def test_unreadable_file_is_a_problem(vault_copy: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    locked = vault_copy / "locked.md"
    locked.write_text("# locked", encoding="utf-8")
    locked.chmod(0)
    graph = read_vault(vault_copy, rules=RULES)
    assert [p.path for p in graph.problems if p.kind is ProblemKind.UNREADABLE] == ["locked.md"]


def test_not_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VaultFolderError, match="not a directory"):
        read_vault(tmp_path / "missing")


def test_a_vault_folder_that_cannot_be_listed_is_an_error_not_an_empty_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subfolder that cannot be listed is a problem of the vault; the vault's own folder is no vault
    at all (read as one without notes, its graph would be emptied)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("# A\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n", encoding="utf-8")
    scandir = os.scandir

    def refusing(denied: str) -> Callable[[str], Any]:
        def scan(path: str) -> Any:
            if os.path.abspath(path) == denied:
                raise PermissionError(13, "Permission denied")
            return scandir(path)

        return scan

    monkeypatch.setattr(os, "scandir", refusing(str(tmp_path / "sub")))
    graph = read_vault(tmp_path, rules=RULES)
    assert sorted(graph.notes) == ["b.md"]
    assert [(p.path, p.message) for p in graph.problems] == [("sub", "cannot list folder: Permission denied")]
    monkeypatch.setattr(os, "scandir", refusing(str(tmp_path)))
    with pytest.raises(VaultFolderError, match=r"cannot be listed \(Permission denied\)"):
        read_vault(tmp_path, rules=RULES)


SAMPLE_VAULT = Path(__file__).resolve().parents[2] / "kg" / "sample_vault"
SAMPLE_EXPECTED = Path(__file__).resolve().parents[1] / "vaults" / "SAMPLE_VAULT_EXPECTED.md"


@pytest.mark.skipif(not SAMPLE_EXPECTED.is_file(), reason="no expected-concepts table for the sample vault")
def test_sample_vault_every_listed_spelling_reaches_its_notes_concept() -> None:
    import re

    graph, _, index = read_vault_parsed(SAMPLE_VAULT, rules=RULES)
    rows = re.findall(r"^\| (.+?) \| (.+?\.md) \| (.*?) \|$", SAMPLE_EXPECTED.read_text(encoding="utf-8"), re.M)
    assert len(rows) >= 40
    wrong: list[tuple[str, str, str | None, str | None]] = []
    for concept, note, others in rows:
        about = graph.notes[note].about
        assert about, note
        spellings = [concept, *(s.strip() for s in re.sub(r"\(.*?\)$", "", others).split(",") if s.strip())]
        wrong += [(note, s, index.resolve(s), about[0]) for s in spellings if index.resolve(s) != about[0]]
    assert wrong == []


def test_concept_description_comes_from_its_own_note(graph: Graph) -> None:
    description = graph.concepts["grpo"].description
    assert description is not None and description.startswith("GRPO 去掉了 critic")
    assert graph.concepts["trpo"].description is None  # dangling: no note describes it


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_like_a_note_is_skipped_not_read(vault_copy: Path) -> None:
    os.mkfifo(vault_copy / "pipe.md")
    graph = read_vault(vault_copy, rules=RULES)  # would block forever if the pipe were opened
    assert "pipe.md" not in graph.notes
    assert [p.path for p in graph.problems if p.kind is ProblemKind.UNREADABLE] == ["pipe.md"]


def test_prose_mentions_find_names_with_capitals_and_lower_case_heads(tmp_path: Path) -> None:
    (tmp_path / "vLLM.md").write_text("# vLLM\n推理引擎。\n", encoding="utf-8")
    (tmp_path / "GRPO.md").write_text("# GRPO\n", encoding="utf-8")
    (tmp_path / "deploy.md").write_text(
        "# 部署\n见 https://github.com/x/GRPO 和 path/vLLM。\n\n用 vLLM 部署，训练用 GRPO。\n", encoding="utf-8"
    )
    graph = read_vault(tmp_path, rules=RULES)
    prose = {(m.concept, m.line, m.text) for m in graph.notes["deploy.md"].mentions if m.source == "text"}
    assert prose == {("vllm", 4, "vLLM"), ("grpo", 4, "GRPO")}  # not the URL or path on line 2


def test_yaml_aliases_are_kept_until_they_would_explode() -> None:
    bomb = "\n".join(
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
        + ["tags: *i", "self: &s [1, *s]", "shared: &x {k: v}", "again: *x"]
    )
    parsed = parse_note("bomb.md", f"---\ntitle: Bomb\n{bomb}\n---\n# Bomb\n\n[[Link]]\n")
    data = parsed.note.front_matter
    # Small aliased values are expanded as YAML means them; 9**5 strings still fit the budget.
    assert data["again"] == {"k": "v"} and data["b"] == [data["a"]] * 9
    assert "tags" not in data and "i" not in data and "self" not in data
    dropped = {p.message.split("'")[1]: p.line for p in parsed.problems if "alias" in p.message}
    assert dropped == {"f": 8, "g": 9, "h": 10, "i": 11, "tags": 12, "self": 13}
    assert parsed.note.title == "Bomb" and [link.target for link in parsed.note.links] == ["Link"]


def test_parse_cache_reparses_only_changed_notes_and_gives_the_same_graph(tmp_path: Path) -> None:
    from ingest.export import to_json
    from ingest.vault import ParseCache

    vault = tmp_path / "basic"
    shutil.copytree(BASIC, vault)
    cache = ParseCache()
    first = read_vault(vault, cache=cache)
    total = len(first.notes)
    assert (cache.hits, cache.misses) == (0, total) and len(cache) == total
    again = read_vault(vault, cache=cache)
    assert (cache.hits, cache.misses) == (total, 0)
    assert to_json(again) == to_json(first)  # problems too: they are kept with each cached note
    assert all(again.notes[p] is not first.notes[p] for p in first.notes)  # the first graph is untouched

    grpo = vault / "RL" / "GRPO" / "GRPO.md"
    grpo.write_text(grpo.read_text(encoding="utf-8") + "\nGRPO builds on [[Baseline]].\n", encoding="utf-8")
    (vault / "RL" / "PPO.md").unlink()
    edited = read_vault(vault, cache=cache)
    assert (cache.hits, cache.misses) == (total - 2, 1) and len(cache) == total - 1
    assert to_json(edited) == to_json(read_vault(vault))
    assert "Baseline" in {link.target for link in edited.notes["RL/GRPO/GRPO.md"].links}
    assert to_json(first) != to_json(edited)


def test_the_copies_a_cache_hands_out_have_every_field_and_own_what_the_resolution_fills() -> None:
    from dataclasses import fields, replace

    from ingest.vault import _fresh_copy, _note_copy
    from kg.model import Mention, Note

    # every field set to something other than its default, so that a field the copies miss fails
    note = Note(
        path="a.md", title="A", content_hash="h", encoding="gb18030", tags=["t"],
        links=[Link(target="B", line=3, kind="wiki")], about=["a"],
        mentions=[Mention(concept="b", text="B", line=3, source="wikilink")], resources=["https://x.org"],
        kind="overview", description="d", front_matter={"k": 1}, cjk_chars=5, words=7,
    )  # fmt: skip
    assert all(getattr(note, f.name) != f.default for f in fields(Note) if not callable(f.default_factory))
    copy = _note_copy(note)
    assert copy == note and type(copy) is Note
    assert copy.links is not note.links and copy.about is not note.about and copy.mentions is not note.mentions

    parsed = parse_note("a.md", "---\naliases: [Alpha]\n---\n# A\n\n- [[B]] [x](https://x.org) #t\n")
    parsed.note = note
    parsed._links_by_line, parsed.outside_links = {3: []}, frozenset({(3, "../c")})
    parsed.problems, parsed.prose_tokens = [], ("GRPO",)
    fresh = _fresh_copy(parsed)
    # what the parse made is shared; the per-read link state starts empty, as a new parse's does
    expected = replace(parsed, note=note, _links_by_line=None, _rule_state=None, outside_links=frozenset())
    assert all(getattr(fresh, f.name) == getattr(expected, f.name) for f in fields(parsed))
    assert fresh.note is not note and fresh.note == note and fresh.note.links is not note.links


def test_read_vault_restores_the_garbage_collector_and_leaves_frozen_objects_frozen() -> None:
    import gc

    assert gc.isenabled()
    read_vault(BASIC, rules=RULES)
    assert gc.isenabled()
    gc.disable()
    try:
        read_vault(BASIC, rules=RULES)
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()  # an application that froze its objects (pre-fork) keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        read_vault(BASIC, rules=RULES)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_parse_cache_trusts_an_old_stat_and_reads_a_racy_file_again(tmp_path: Path) -> None:
    import os

    from ingest.vault import ParseCache

    note = tmp_path / "a.md"
    note.write_text("# A\n\nLinks to [[Beta]].\n", encoding="utf-8")
    cache = ParseCache()
    # Modified just now: its stat could stay the same through a second write, so it is hashed again.
    assert [link.target for link in read_vault(tmp_path, cache=cache).notes["a.md"].links] == ["Beta"]
    stat = note.stat()
    note.write_text("# A\n\nLinks to [[Gama]].\n", encoding="utf-8")  # same size
    os.utime(note, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    assert [link.target for link in read_vault(tmp_path, cache=cache).notes["a.md"].links] == ["Gama"]
    # Modified long before it was read: the same size and mtime mean the same file, it is not read.
    old = stat.st_mtime_ns - 3_600_000_000_000
    os.utime(note, ns=(old, old))
    assert [link.target for link in read_vault(tmp_path, cache=cache).notes["a.md"].links] == ["Gama"]
    note.write_text("# A\n\nLinks to [[Beta]].\n", encoding="utf-8")
    os.utime(note, ns=(old, old))  # a write that keeps size and mtime: as make and rsync, not seen
    assert [link.target for link in read_vault(tmp_path, cache=cache).notes["a.md"].links] == ["Gama"]
    assert (cache.hits, cache.misses) == (1, 0)
    note.write_text("# A\n\nLinks to [[Beta]] and more.\n", encoding="utf-8")  # any other write is seen
    assert [link.target for link in read_vault(tmp_path, cache=cache).notes["a.md"].links] == ["Beta"]


def test_a_packed_body_unpacks_to_the_same_line_contexts() -> None:
    text = (
        "---\ntitle: T\n---\n# T\n\nIntro [[PPO]] and [[GRPO|group]].\n\n## Steps\n\n- one [[A]]\n  - two\n"
        "    - three [[B]]\n\n> quoted [[C]]\n\n| x | y |\n|---|---|\n| [[D]] | 2 |\n\n### Deep\n\ntext\n"
    )
    parsed = parse_note("t.md", text)
    lines = range(1, parsed.line_count + 1)
    before = [parsed.context(line) for line in lines]
    spans, masked = list(parsed.scan.link_spans), parsed.scan.masked
    parsed.pack()
    assert parsed._body is None and parsed._packed is not None
    assert [parsed.context(line) for line in lines] == before  # unpacked on first read
    assert list(parsed.scan.link_spans) == spans and parsed.scan.masked == masked
    parsed.pack()  # again: the first pack's bytes serve
    assert parsed._body is None and [parsed.context(line) for line in lines] == before


def test_a_read_that_packs_and_frees_bodies_gives_the_graph_a_read_keeping_them_gives(tmp_path: Path) -> None:
    from bench.generate_vault import generate

    root = generate(200, tmp_path / "v200", seed=5)
    kept, parsed, _ = read_vault_parsed(root)
    assert all(p.scan.lines.line_count > 1 for p in parsed)  # read_vault_parsed hands out whole scans
    released = read_vault(root)  # no cache: bodies packed between stages, freed after their note's rules
    assert released == kept
    assert len(released.relations) > 100 and sum(len(n.mentions) for n in released.notes.values()) > 1000


def test_a_cached_read_keeps_bodies_packed_and_frees_the_scans_it_hands_out(tmp_path: Path) -> None:
    """Under a ParseCache (`--watch`, `--keep-state`) each kept note's body is held packed, and the
    copies a read hands out are freed as their rules finish, as without a cache; the graphs, first
    read and kept re-read after an edit, are those of reads that keep every scan."""
    from bench.generate_vault import generate
    from ingest.export import to_json
    from ingest.vault import ParseCache

    root = generate(200, tmp_path / "v200", seed=5)
    cache = ParseCache()
    assert read_vault(root, cache=cache) == read_vault_parsed(root)[0]
    entries = list(cache._entries.values())
    assert len(entries) == 200 and all(e.parsed._body is None and e.parsed._packed for e in entries)
    note = sorted(root.rglob("*.md"))[17]
    with note.open("a", encoding="utf-8") as handle:
        handle.write("\n\nSee also [[A Topic Only The Edit Names]] and 基于 [[GRPO]]。\n")
    assert to_json(read_vault(root, cache=cache)) == to_json(read_vault_parsed(root)[0])
    assert cache.misses == 1


def test_a_read_without_mention_context_keeps_which_concept_is_mentioned_where(tmp_path: Path) -> None:
    from bench.generate_vault import generate
    from ingest.vault import ParseCache

    root = generate(120, tmp_path / "v120", seed=3)
    full = read_vault(root)
    lean = read_vault(root, mention_context=False)
    assert lean.relations == full.relations and lean.concepts == full.concepts
    for path, note in full.notes.items():
        mentions = lean.notes[path].mentions
        assert [(m.concept, m.text, m.line, m.source) for m in mentions] == [
            (m.concept, m.text, m.line, m.source) for m in note.mentions
        ]
        assert all(m.heading_path == () and m.line_text == "" and m.table_row is None for m in mentions)
    assert any(m.heading_path and m.line_text for n in full.notes.values() for m in n.mentions)
    # a ParseCache's kept resolution is not reused for a read that asks for the other kind
    cache = ParseCache()
    assert read_vault(root, cache=cache, mention_context=False) == lean
    assert read_vault(root, cache=cache) == full


def test_a_one_shot_read_lets_go_of_the_name_memos_a_kept_read_keeps(tmp_path: Path) -> None:
    """The memos of the per-note name functions (65k entries each, ~30 MB at 50k notes) are emptied
    once a one-shot read's per-note stages are done; a read with a `ParseCache` keeps them warm."""
    from ingest.concepts import _names_in
    from ingest.vault import ParseCache

    (tmp_path / "GRPO.md").write_text("# GRPO\n\n## 前置知识\n\n- [[PPO]]\n- 强化学习基础\n", encoding="utf-8")
    one_shot = read_vault(tmp_path, rules=RULES)
    assert _names_in.cache_info().currsize == 0 and "GRPO.md" in one_shot.notes
    kept = read_vault(tmp_path, rules=RULES, cache=ParseCache())
    assert _names_in.cache_info().currsize > 0
    assert kept.relations == one_shot.relations and kept.concepts == one_shot.concepts
