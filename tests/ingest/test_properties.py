"""Properties: parsing never raises and is deterministic; read_vault never raises on any bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.concepts import concept_key, names_in, split_kind
from ingest.export import to_graphml, to_json
from ingest.markdown import mask_non_markdown, scan_markdown
from ingest.vault import parse_note, read_vault
from kg.model import ProblemKind

# Markdown-ish fragments make hypothesis reach the interesting branches far more often than
# uniform text: fences, links, tables, front matter delimiters, CJK punctuation.
FRAGMENTS = [
    "---\n",
    "+++\n",
    "{\n",
    "}\n",
    "```",
    "~~~",
    "`",
    "$$",
    "%%",
    "<!--",
    "-->",
    "[[",
    "]]",
    "![[",
    "|",
    "\\|",
    "#",
    "# ",
    "## ",
    "- ",
    "  - ",
    "1. ",
    "> ",
    "[",
    "](",
    ")",
    "(",
    "（",
    "）",
    "：",
    "、",
    "/",
    " / ",
    "\n",
    "\r\n",
    "GRPO",
    "群体相对策略优化",
    "-手撕实操",
    "概述",
    "title: x\n",
    "tags: [a, b]\n",
    "up: [[X]]\n",
    "{{date}}",
    "https://a.b/c",
    "#tag/sub",
    "目录",
    "附录 A ",
    "5.3 ",
    "\ufeff",
    "\x00",
    "é",
    "ï¼",
]
markdownish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=300), markdownish)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_parse_note_never_raises_and_is_deterministic(text: str) -> None:
    first = parse_note("folder/Note.md", text)
    second = parse_note("folder/Note.md", text)
    assert first.note == second.note
    assert first.outline_entries == second.outline_entries
    for link in first.note.links:
        assert 1 <= link.line <= max(1, first.line_count)
    for mention in first.note.mentions:
        assert 1 <= mention.line <= max(1, first.line_count)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_masking_keeps_length_and_lines(text: str) -> None:
    masked = mask_non_markdown(text)
    assert len(masked) == len(text)
    assert [i for i, c in enumerate(masked) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]
    scan_markdown(text)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_name_functions_never_raise_and_keys_are_stable(text: str) -> None:
    key = concept_key(text)
    assert concept_key(text) == key
    # case does not matter; only ASCII letters are flipped: `'ı'.upper().lower()` is `'i'`, another letter
    assert concept_key("".join(c.swapcase() if c.isascii() else c for c in text)) == key
    base, _ = split_kind(text)
    assert isinstance(base, str)
    for candidate in names_in(text):
        assert candidate.key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["a.md", "b/c.md", "b/d.markdown", "e.txt", "f.md"]), st.binary(max_size=400)),
        max_size=5,
    )
)
def test_read_vault_never_raises_on_any_bytes(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in files:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        graph = read_vault(root)
        written = {name for name, _ in files if name.endswith((".md", ".markdown"))}
        binary = {p.path for p in graph.problems if p.kind is ProblemKind.BINARY}
        assert set(graph.notes) | binary == written
        to_json(graph)
        to_graphml(graph)
        again = read_vault(root)
        assert to_json(again) == to_json(graph)


# --- the YAML fast path reads exactly what PyYAML reads -------------------------------------------

SCALARS = [
    "GRPO",
    "大语言模型 LLM",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "null",
    "~",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1:30",
    "1.5",
    "1e3",
    "1.0e+3",
    ".inf",
    "-.Inf",
    ".nan",
    "2026-02-22",
    "2025-08-07T00:00:00+08:00",
    "2025-8-7",
    "https://a.b/c?d=e#f",
    "a: b",
    "a #b",
    "a#b",
    "#x",
    "-x",
    "- x",
    "?x",
    ":x",
    "x:",
    "[[X]]",
    "[[X|Y]]",
    "{{date}}",
    "a, b",
    "'q'",
    '"q"',
    "'it''s'",
    '"a\\"b"',
    '"[[A]], [[B]]"',
    "a\tb",
    "",
    " ",
    "!tag x",
    "&a x",
    "*a",
    "|",
    ">",
    "%x",
    "@x",
    "`x`",
    "ñ",
    "（全角）",
    "x ",
    "=",
    "<<",
]
scalar = st.one_of(st.sampled_from(SCALARS), st.text(max_size=12))
key = st.one_of(
    st.sampled_from(["title", "tags", "aliases", "up", "type", "yes", "null", "a-b", "_k", "1", "x y"]),
    st.text(max_size=6),
)
line = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", key, scalar),
    st.builds(lambda k: f"{k}:", key),
    st.builds(lambda k, vs: f"{k}: [{', '.join(vs)}]", key, st.lists(scalar, max_size=4)),
    st.builds(lambda indent, v: f"{indent}- {v}", st.sampled_from(["", "  ", "    ", "\t"]), scalar),
    st.sampled_from(["", "# comment", "  # indented comment", "---", "...", "k: v # trailing", "  continued"]),
)


# Front matter as Obsidian writes it (the fast path should answer these), mixed with the above.
safe_key = st.from_regex(r"[a-z_][a-z0-9_-]{0,8}", fullmatch=True)
safe_scalar = st.one_of(
    st.sampled_from(SCALARS[:30]),
    st.from_regex(r"[A-Za-z\u4e00-\u9fff][A-Za-z0-9 \u4e00-\u9fff/_.:()（）-]{0,12}", fullmatch=True),
)
safe_line = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", safe_key, safe_scalar),
    st.builds(lambda k, vs: f"{k}: [{', '.join(vs)}]", safe_key, st.lists(safe_scalar, max_size=3)),
    st.builds(
        lambda k, vs: "\n".join([f"{k}:", *(f"  - {v}" for v in vs)]), safe_key, st.lists(safe_scalar, max_size=3)
    ),
)
front_matter_text = st.one_of(
    st.lists(safe_line, min_size=1, max_size=6), st.lists(st.one_of(safe_line, line), max_size=8)
).map("\n".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front_matter_text)
def test_fast_yaml_equals_pyyaml_whenever_it_answers(raw: str) -> None:
    import yaml

    from ingest.frontmatter import _fast_yaml

    fast = _fast_yaml(raw)
    if fast is None:
        return
    assert fast == yaml.load(raw, Loader=yaml.CSafeLoader)
