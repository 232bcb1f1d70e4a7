"""`resolve_notes` with a `ParseCache`: what the last resolution made of each note is reused when
an edit leaves the concept index as it was, and the graph is always the one a fresh read gives."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from note_files import is_utf8

from bench.generate_vault import generate
from ingest.concepts import ConceptIndex
from ingest.export import to_json
from ingest.relation_rules import DEFAULT_CONFIG, RelationsConfig
from ingest.relations import rules_for
from ingest.vault import ParseCache, ParsedNote, outline_relations, read_vault
from kg.model import Relation, RelationType

ANTIAI = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "antiai"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(240, tmp_path_factory.mktemp("gen") / "v240", seed=11)


def _copy(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    shutil.copytree(source, root)
    return root


def _first_read(source: Path, tmp_path: Path) -> tuple[Path, ParseCache, int]:
    """A copy of `source`, read once with a new cache: (its root, the cache, how many notes)."""
    root = _copy(source, tmp_path)
    cache = ParseCache()
    return root, cache, len(read_vault(root, cache=cache).notes)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _notes(root: Path) -> list[Path]:
    """The vault's note files (hidden folders such as `.obsidian/` are not read)."""
    return sorted(p for p in root.rglob("*.md") if not any(part.startswith(".") for part in p.relative_to(root).parts))


def _middle_note(root: Path) -> Path:
    notes = _notes(root)
    return notes[len(notes) // 2]


def _same_as_fresh(root: Path, cache: ParseCache) -> int:
    """Read with the cache, check the graph equals a fresh read, return how many notes were resolved."""
    kept = to_json(read_vault(root, cache=cache))
    assert kept == to_json(read_vault(root))
    return cache.notes_resolved


def test_a_prose_edit_resolves_only_the_edited_note(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    assert cache.notes_resolved == total
    assert _same_as_fresh(root, cache) == 0  # nothing changed: nothing resolved again
    note = _middle_note(root)
    _append(note, "\n\nMore thoughts written while reading, with no new name in them.\n")
    assert _same_as_fresh(root, cache) == 1
    assert cache._refd.reused  # the link graph is as it was: RefD's relations too
    _append(note, "\n\nThis compares GRPO with PPO on the same data.\n")  # known names, in prose
    assert _same_as_fresh(root, cache) == 1


def test_edits_that_change_the_index_give_the_fresh_graph(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    note = _middle_note(root)
    # a new name and a new alias: the index changes; only the notes that read a changed key run again
    _append(note, "\n\nSee also [[A Brand New Topic]] and [[GRPO|group relative]].\n")
    assert 1 <= _same_as_fresh(root, cache) < total
    _append(note, "\n\nAnd [[Another Topic]], which builds on [[A Brand New Topic]].\n")
    assert 1 <= _same_as_fresh(root, cache) < total
    renamed = root / "renamed.md"
    renamed.write_text("---\ntitle: First Title\n---\n# First Title\n\nBuilds on [[GRPO]].\n", encoding="utf-8")
    (root / "linking.md").write_text("# Linking\n\nSee [[renamed]].\n", encoding="utf-8")
    assert 2 <= _same_as_fresh(root, cache) < total  # notes added: they, and what read their names
    renamed.write_text(renamed.read_text(encoding="utf-8").replace("First Title", "Second Title"), encoding="utf-8")
    assert 2 <= _same_as_fresh(root, cache) < total  # its primary name changed: the note linking to it too
    (root / "linking.md").unlink()
    assert _same_as_fresh(root, cache) < total


def test_an_edit_whose_rules_name_a_new_concept_resolves_the_notes_after_it(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    notes = _notes(root)
    _append(notes[-1], "\n\n本方法基于 ZetaQuux 框架。\n")  # a cue naming an unknown tool: the rules add it
    assert 1 <= _same_as_fresh(root, cache) < total
    _append(notes[0], "\n\n本方法基于 OmegaQuux 框架。\n")
    assert _same_as_fresh(root, cache) >= 1


def test_other_rules_resolve_everything_again(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    quieter = RelationsConfig(keys=DEFAULT_CONFIG.keys, confidence={"cue.based_on": 0.0})
    rules = [outline_relations, *rules_for(quieter)]
    kept = to_json(read_vault(root, cache=cache, rules=rules))
    assert cache.notes_resolved == total and kept == to_json(read_vault(root, rules=rules))
    again = to_json(read_vault(root, cache=cache, rules=[outline_relations, *rules_for(quieter)]))
    assert cache.notes_resolved == 0 and again == kept  # equal rules made afresh: reused


@pytest.mark.skipif(not ANTIAI.is_dir(), reason="../shared/corpora/antiai is not present")
def test_the_real_vault_edited_note_by_note(tmp_path: Path) -> None:
    root = _copy(ANTIAI, tmp_path)
    cache = ParseCache()
    read_vault(root, cache=cache)
    notes = _notes(root)
    for i, note in enumerate(notes[:: len(notes) // 3]):
        _append(note, f"\n\n补充 {i}：这里和 GRPO、PPO 的做法一样。\n")
        assert _same_as_fresh(root, cache) == 1
    total = len(notes)
    (notes[0].parent / "新笔记 KL 散度.md").write_text("# KL 散度\n\n基于 [[PPO]]，see [[GRPO]].\n", encoding="utf-8")
    assert _same_as_fresh(root, cache) < total / 2  # a note added
    notes[len(notes) // 2].unlink()
    assert _same_as_fresh(root, cache) < total / 2  # a note removed


def _linked_to(graph_notes: dict[str, object], path: str) -> list[str]:
    return sorted(p for p, note in graph_notes.items() if any(link.resolved_note == path for link in note.links))  # type: ignore[attr-defined]


def test_an_added_note_resolves_again_only_the_notes_whose_links_can_reach_it(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    notes = _notes(root)
    _append(notes[10], "\n\nTo read: [[Zeta Sampling]].\n")  # no such note yet: a concept of its own
    _append(notes[20], "\n\nSee [the zeta note](/New%20Folder/Zeta%20Sampling.md) and [folder](/Later/).\n")
    assert _same_as_fresh(root, cache) < total
    (root / "New Folder").mkdir()
    (root / "New Folder" / "Zeta Sampling.md").write_text(
        "---\naliases: [ZS]\n---\n# Zeta Sampling\n\nZeta Sampling 基于 [[GRPO]]，builds on [[PPO]].\n",
        encoding="utf-8",
    )
    resolved = _same_as_fresh(root, cache)
    assert 2 <= resolved < total / 2  # it, the note linking to it, and the notes that read its names
    graph = read_vault(root, cache=cache)
    assert notes[10].relative_to(root).as_posix() in _linked_to(graph.notes, "New Folder/Zeta Sampling.md")
    # a folder's first note: a markdown link to the folder resolves to its index note
    (root / "Later").mkdir()
    (root / "Later" / "README.md").write_text("# 稍后再读\n\nTo read: [[Zeta Sampling]].\n", encoding="utf-8")
    assert 2 <= _same_as_fresh(root, cache) < total / 2
    assert notes[20].relative_to(root).as_posix() in _linked_to(read_vault(root, cache=cache).notes, "Later/README.md")
    # a link to a folder is one (its text names the folder) from the folder's first note on
    _append(notes[25], "\n\nLater, [the someday pile](/Someday/).\n")
    _same_as_fresh(root, cache)
    (root / "Someday").mkdir()
    (root / "Someday" / "Plain Note.md").write_text("# Plain Note\n\nNothing linked.\n", encoding="utf-8")
    assert 2 <= _same_as_fresh(root, cache) <= 3
    # the notes of a folder link to it (`[T0004](./)`): a note added there leaves their links as they were,
    # its index note does not
    folder = notes[30].parent
    (folder / "Yet Another Method.md").write_text("# Yet Another Method\n\nNothing linked.\n", encoding="utf-8")
    assert _same_as_fresh(root, cache) <= 3
    (folder / "README.md").write_text("# 本目录概览\n\nThe notes of this folder.\n", encoding="utf-8")
    assert 2 <= _same_as_fresh(root, cache) < total / 2
    folder_links = _linked_to(read_vault(root, cache=cache).notes, f"{folder.relative_to(root).as_posix()}/README.md")
    assert notes[30].relative_to(root).as_posix() in folder_links


def test_a_removed_or_renamed_note_resolves_again_the_notes_linking_to_it(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    graph = read_vault(root, cache=cache)
    target = max(graph.notes, key=lambda path: len(_linked_to(graph.notes, path)))
    linking = _linked_to(graph.notes, target)
    assert len(linking) >= 2
    moved = root / "Archive" / Path(target).name
    moved.parent.mkdir()
    (root / target).rename(moved)  # the same stem elsewhere: links by name now resolve there
    assert len(linking) <= _same_as_fresh(root, cache) < total
    assert _linked_to(read_vault(root, cache=cache).notes, f"Archive/{moved.name}")
    moved.rename(moved.with_name("Renamed Away.md"))  # another stem: those links dangle
    assert len(linking) <= _same_as_fresh(root, cache) < total
    (moved.with_name("Renamed Away.md")).unlink()
    assert _same_as_fresh(root, cache) < total


def test_a_renamed_folder_makes_only_the_links_into_it_again(generated: Path, tmp_path: Path) -> None:
    """Its notes move under the same names: the notes linking to them resolve their links again, to
    the new paths, and keep the rest of their last resolution (mentions, relations) when their links
    name the same concepts. The graph is a fresh read's; renamed back, too."""
    root, cache, total = _first_read(generated, tmp_path)
    graph = read_vault(root, cache=cache)
    folder = min((p for p in root.iterdir() if p.is_dir()), key=lambda p: len(list(p.rglob("*.md"))))
    inside = {p.relative_to(root).as_posix() for p in folder.rglob("*.md")}
    linking = {path for target in inside for path in _linked_to(graph.notes, target)} - inside
    assert linking
    renamed = folder.with_name(folder.name + " (renamed)")
    folder.rename(renamed)
    assert len(linking) <= _same_as_fresh(root, cache) < total
    assert cache.notes_relinked >= len(linking) // 2 > 0
    moved = {p.relative_to(root).as_posix() for p in renamed.rglob("*.md")}
    after = read_vault(root, cache=cache).notes
    assert all(not _linked_to(after, target) for target in inside)
    # links by name follow the notes; a link by path into the old folder dangles now
    assert {path for target in moved for path in _linked_to(after, target)} - moved <= linking
    renamed.rename(folder)
    assert _same_as_fresh(root, cache) < total
    assert cache.notes_relinked > 0


def _random_edit(rng: random.Random, notes: list[Path], step: int) -> None:
    """One edit of a kind people make: move a line between notes, delete one, add an alias (new, or
    another note's name), a link (to an existing note, or a new name), a cue sentence, or rename a word."""
    note, other = rng.sample(notes, 2)
    lines = note.read_text(encoding="utf-8").split("\n")
    body = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(("---", "title:"))]
    kind = step % 11
    if kind == 7:  # a new note, which a link elsewhere named already (sometimes)
        name = other.stem if rng.random() < 0.3 else rng.choice([f"Fresh Concept {step - 4}", f"Added {step}"])
        added = note.parent / "added" / f"{name}.md"
        added.parent.mkdir(exist_ok=True)
        added.write_text(f"# {name}\n\n{name} 基于 [[{note.stem}]]，see also [[{other.stem}]].\n", encoding="utf-8")
        notes.append(added)
        return
    if kind == 8:  # a note deleted
        note.unlink()
        notes.remove(note)
        return
    if kind == 9:  # a note renamed, to a new name or into another folder
        renamed = note.with_name(f"Renamed {step}.md") if rng.random() < 0.5 else other.parent / note.name
        if renamed.exists():
            return
        note.rename(renamed)
        notes[notes.index(note)] = renamed
        return
    if kind == 10:  # another title: the note's primary name, which the notes linking to it register
        lines = [f"title: Retitled {step}" if line.startswith("title:") else line for line in lines]
        lines = [f"# Retitled {step}" if line.startswith("# ") else line for line in lines]
    elif kind == 0:
        lines.insert(rng.choice(body), rng.choice(other.read_text(encoding="utf-8").split("\n")[8:] or [""]))
    elif kind == 1 and body:
        del lines[rng.choice(body[len(body) // 2 :])]
    elif kind == 2:
        lines = [line.replace("aliases: [", f"aliases: [Alias{step}, ", 1) for line in lines]
    elif kind == 6:  # another note's name as an alias: two concepts become one
        lines[1:1] = [f"aliases: [{other.stem}]"] if lines[0] == "---" else ["---", f"aliases: [{other.stem}]", "---"]
    elif kind == 3:
        target = other.stem if rng.random() < 0.5 else f"Fresh Concept {step}"
        alias = rng.choice(["", "|see", "|GRPO", f"|{other.stem[:6]}"])
        lines.append(f"Related: [[{target}{alias}]]")
    elif kind == 4:
        lines.append(f"{other.stem} 基于 Tool{step} 实现，并且 builds on {note.stem}。")
    else:
        words = [w for w in " ".join(lines).split() if w.isalpha() and len(w) > 4]
        if words:
            word = rng.choice(words)
            lines = [line.replace(word, word.upper()) for line in lines]
    note.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("seed", [5, 1])  # 1: a retitled note whose linking notes must resolve again
def test_random_edits_always_give_the_fresh_graph(generated: Path, tmp_path: Path, seed: int) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    rng = random.Random(seed)
    notes = [note for note in _notes(root) if is_utf8(note)]  # the edits rewrite them as UTF-8
    resolved = []
    for step in range(33):
        _random_edit(rng, notes, step)
        resolved.append(_same_as_fresh(root, cache))
    assert sorted(resolved)[len(resolved) // 2] < total / 2, resolved  # most edits reuse most notes
    assert max(resolved) >= 1


def _names_zeta(parsed: ParsedNote, index: ConceptIndex) -> list[Relation]:
    """A rule that adds a concept late (as the cue rules add an unknown tool's name)."""
    if "MAKE ZETA" in parsed.scan.masked:
        index.ensure("Zeta")
    return []


def _uses_zeta(parsed: ParsedNote, index: ConceptIndex) -> list[Relation]:
    """A rule that only uses names already known, so it sees what earlier notes' rules added."""
    if "uses zeta" not in parsed.scan.masked or index.resolve("Zeta") is None:
        return []
    return [Relation(RelationType.RELATED_TO, "zeta", parsed.note.about[0], 0.5, "test.zeta", parsed.path, 1, "")]


def test_a_note_after_one_whose_rules_name_other_concepts_runs_again(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Alpha\n\nNothing yet.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Beta\n\nBeta uses zeta.\n", encoding="utf-8")
    rules = [_names_zeta, _uses_zeta]
    cache = ParseCache()
    assert read_vault(tmp_path, cache=cache, rules=rules).relations == []
    _append(tmp_path / "a.md", "MAKE ZETA\n")
    graph = read_vault(tmp_path, cache=cache, rules=rules)
    assert cache.notes_resolved == 2  # b.md is unchanged, but what a.md's rules add changed
    assert [r.note for r in graph.relations] == ["b.md"]
    assert to_json(graph) == to_json(read_vault(tmp_path, rules=rules))


def test_a_note_after_one_added_or_removed_whose_rules_name_other_concepts_runs_again(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# Beta\n\nBeta uses zeta.\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("# Gamma\n\nNothing here.\n", encoding="utf-8")
    rules = [_names_zeta, _uses_zeta]
    cache = ParseCache()
    assert read_vault(tmp_path, cache=cache, rules=rules).relations == []
    (tmp_path / "a.md").write_text("# Alpha\n\nMAKE ZETA\n", encoding="utf-8")  # listed before b.md
    graph = read_vault(tmp_path, cache=cache, rules=rules)
    assert cache.notes_resolved == 2 and [r.note for r in graph.relations] == ["b.md"]
    (tmp_path / "a.md").unlink()
    graph = read_vault(tmp_path, cache=cache, rules=rules)
    assert cache.notes_resolved == 1 and graph.relations == []  # b.md, which read what a.md's rules added
    assert to_json(graph) == to_json(read_vault(tmp_path, rules=rules))


def test_refd_relations_are_reused_only_while_the_link_graph_stands(tmp_path: Path) -> None:
    from test_relations import LOW_REFD, refd_vault

    for name, text in refd_vault().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    rules = [outline_relations, *rules_for(LOW_REFD)]
    cache = ParseCache()

    def refd_edges() -> list[tuple[str, str]]:
        graph = read_vault(tmp_path, cache=cache, rules=rules)
        assert to_json(graph) == to_json(read_vault(tmp_path, rules=rules))
        return sorted((r.source, r.target) for r in graph.relations if r.rule == "statistics.refd")

    first = refd_edges()
    assert ("gradient", "backprop") in first
    _append(tmp_path / "Backprop.md", "\nSome prose about it.\n")
    assert refd_edges() == first and cache._refd.reused
    _append(tmp_path / "Backprop.md", "\nAlso [[Automatic Differentiation]].\n")  # a concept with no note
    assert refd_edges() == first and cache._refd.reused
    # Hessian now says it needs Calculus (its body linked Calculus already): the scores
    # stand, and RefD's weaker edge for that pair goes
    assert {"calculus", "hessian"} in [set(edge) for edge in first]
    _append(tmp_path / "Hessian.md", "\nprerequisites:: Calculus\n")  # a Dataview field, not a link
    ordered = refd_edges()
    assert cache._refd.reused and {"calculus", "hessian"} not in [set(edge) for edge in ordered]
    # Gradient now links back to Backprop: the pair is no longer one-sided
    _append(tmp_path / "Gradient.md", "\nUsed by [[Backprop]] and [[Hessian]].\n")
    changed = refd_edges()
    assert not cache._refd.reused and changed != ordered


def test_links_to_new_names_extend_the_kept_index(generated: Path, tmp_path: Path) -> None:
    root, cache, total = _first_read(generated, tmp_path)
    note = _middle_note(root)
    _append(note, "\n\nSee [[Quite New Name]] and [[Another New Name]] (a second time: [[Quite New Name]]).\n")
    assert _same_as_fresh(root, cache) < total and not cache.index_rebuilt  # only names no note had
    _append(_notes(root)[3], "\n\nAlso [[Quite New Name]].\n")  # now a known key: its count changes
    assert _same_as_fresh(root, cache) < total and cache.index_rebuilt
    _append(note, "\n\nProse only.\n")
    assert _same_as_fresh(root, cache) == 1 and not cache.index_rebuilt


def test_new_names_that_prose_elsewhere_spells(generated: Path, tmp_path: Path) -> None:
    """A link to a new Latin-script name makes it a prose mention in notes that wrote it before (the
    kept prose vocabulary is extended, and the notes that read that key resolved again); a new
    lower-case-head spelling (`qwZQRL`, like `veRL`) can make any note's `ZQRL` a mention."""
    notes = _notes(generated)
    prose_note = notes[5].relative_to(generated)
    root = _copy(generated, tmp_path)
    _append(root / prose_note, "\n\nWe compare with ZQRL and with XKPO in passing.\n")
    cache = ParseCache()
    total = len(read_vault(root, cache=cache).notes)
    _append(_middle_note(root), "\n\nSee [[ZQRL]], [[Zqrl]] and [[ZQRL]] again.\n")
    resolved = _same_as_fresh(root, cache)
    assert 1 < resolved < total and not cache.index_rebuilt  # the edited note and the one that wrote ZQRL
    mentioned = read_vault(root, cache=cache).notes[prose_note.as_posix()].mentions
    assert "zqrl" in {m.concept for m in mentioned}
    _append(_notes(root)[9], "\n\nAlso [[qwXKPO]] and [[Brand New Name]].\n")
    assert _same_as_fresh(root, cache) == total  # a new head spelling: everything again


def test_links_to_known_concepts_spelled_as_known_or_not(generated: Path, tmp_path: Path) -> None:
    """More uses of known spellings decide their groups again on the kept index; a new spelling
    of a known key, an anchor, or a link taken away replays every note's registrations. Each gives
    the fresh graph."""
    root, cache, total = _first_read(generated, tmp_path)
    stems = [p.stem for p in _notes(root)]
    note = _notes(root)[17]
    _append(note, f"\n\nBuilds on [[{stems[40]}]] and [[{stems[41]}]].\n")  # known spellings
    assert _same_as_fresh(root, cache) < total and cache.index_rebuilt
    _append(note, f"\n\nAnd [[{stems[42].lower()}]], [[{stems[43].upper()}]].\n")  # other spellings
    assert _same_as_fresh(root, cache) < total
    note.write_text(note.read_text(encoding="utf-8").replace(f"[[{stems[40]}]]", "it"), encoding="utf-8")
    assert _same_as_fresh(root, cache) < total  # a link taken away


def test_a_kept_reads_concepts_follow_counts_and_descriptions_and_not_a_callers_changes(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    (root / "GRPO.md").write_text(
        "---\naliases: [Group Relative Policy Optimization]\n---\n# GRPO\n\nUses [[PPO]].\n", encoding="utf-8"
    )
    (root / "PPO.md").write_text("# PPO\n\nA policy gradient method. See [[ppo]] and [[PPO]].\n", encoding="utf-8")
    (root / "Other.md").write_text("# Other\n\nAbout [[grpo]], [[LayerNorm]] and [[Reward Model]].\n", encoding="utf-8")
    (root / "Norms.md").write_text("# Norms\n\n[[Layer Norm]] and again [[Layer Norm]].\n", encoding="utf-8")
    cache = ParseCache()
    first = read_vault(root, cache=cache)
    again = read_vault(root, cache=cache)  # nothing changed: the same concepts, its own objects
    assert again.concepts == first.concepts
    assert all(again.concepts[k] is not first.concepts[k] for k in first.concepts)
    first.concepts["grpo"].aliases.add("Changed By A Caller")  # a caller's change stays in its graph
    first.concepts["ppo"].notes.append("Elsewhere.md")
    assert read_vault(root, cache=cache).concepts == again.concepts

    # `LayerNorm` used more than `Layer Norm` now: the concept's name follows (a count, not a spelling)
    assert again.concepts["layernorm"].name == "Layer Norm"
    _append(root / "Other.md", "\n\n[[LayerNorm]], [[LayerNorm]] and [[LayerNorm]] again.\n")
    edited = read_vault(root, cache=cache)
    assert to_json(edited) == to_json(read_vault(root))
    assert edited.concepts["layernorm"].name == "LayerNorm"
    # another description in its note's front matter (its notes, name and aliases as they were)
    grpo = (root / "GRPO.md").read_text(encoding="utf-8")
    (root / "GRPO.md").write_text(grpo.replace("---\n#", "description: Drops the critic.\n---\n#"), encoding="utf-8")
    edited = read_vault(root, cache=cache)
    assert to_json(edited) == to_json(read_vault(root))
    assert edited.concepts["grpo"].description == "Drops the critic."
    assert edited.concepts["grpo"].notes == again.concepts["grpo"].notes
