"""Pure markdown functions: masking, wiki/markdown links, tags, headings, lists, tables."""

from __future__ import annotations

from ingest.markdown import (
    LineIndex,
    blank,
    find_headings,
    find_list_items,
    find_table_rows,
    heading_paths,
    mask_non_markdown,
    normalise_tag,
    parse_wiki_link,
    plain_text,
    scan_markdown,
)


def links_of(text: str) -> list[tuple[str, str]]:
    return [(f.link.kind, f.link.target) for f in scan_markdown(text).links]


def test_blank_keeps_length_and_newlines() -> None:
    assert blank("ab\ncd") == "  \n  "
    assert len(blank("x" * 10)) == 10


def test_masking_keeps_offsets_and_hides_code_math_comments() -> None:
    text = "a `[[A]]` b\n```py\n[[B]]\n```\n$$\n[[C]]\n$$\n%% [[D]] %%\n<!-- [[E]] -->\n[[F]]\n"
    masked = mask_non_markdown(text)
    assert len(masked) == len(text)
    assert masked.count("\n") == text.count("\n")
    assert links_of(text) == [("wiki", "F")]


def test_unclosed_fence_runs_to_the_end_and_longer_fence_closes() -> None:
    assert links_of("x\n```\n[[A]]\n") == []
    assert links_of("````\n```\n[[A]]\n````\n[[B]]") == [("wiki", "B")]
    assert links_of("~~~\n[[A]]\n~~~\n[[B]]") == [("wiki", "B")]


def test_wiki_link_forms() -> None:
    link = parse_wiki_link("AI/LLM/RL/GRPO/GRPO-手撕实操|GRPO-手撕", embed=False, line=3)
    assert (link.target, link.alias, link.line, link.kind) == ("AI/LLM/RL/GRPO/GRPO-手撕实操", "GRPO-手撕", 3, "wiki")
    link = parse_wiki_link("Note#H1#H2", embed=False, line=1)
    assert (link.target, link.heading) == ("Note", "H1#H2")
    link = parse_wiki_link("Note#^block-id", embed=False, line=1)
    assert (link.target, link.block, link.heading) == ("Note", "block-id", None)
    link = parse_wiki_link("#附录 A 训练基础设施（Infra）", embed=False, line=1)
    assert (link.target, link.heading) == ("", "附录 A 训练基础设施（Infra）")
    link = parse_wiki_link("BERT\\|BERT", embed=False, line=1)  # escaped pipe inside a table
    assert (link.target, link.alias) == ("BERT", "BERT")
    assert parse_wiki_link("Note.md", embed=False, line=1).target == "Note"
    embed = parse_wiki_link("img.png|100x145", embed=True, line=1)
    assert (embed.kind, embed.target, embed.alias) == ("embed", "img.png", "100x145")


def test_table_with_escaped_pipes_gives_one_link_per_cell() -> None:
    text = "| 模型 | 类型 |\n|---|---|\n| [[BERT\\|BERT]] | Encoder |\n| [[GPT\\|GPT-2]] | Decoder |\n"
    scan = scan_markdown(text)
    assert [(f.link.target, f.link.alias, f.link.line) for f in scan.links] == [
        ("BERT", "BERT", 3),
        ("GPT", "GPT-2", 4),
    ]
    rows = find_table_rows(scan.masked, scan.lines)
    assert [(r.line, r.row) for r in rows] == [(1, None), (2, None), (3, 0), (4, 1)]
    assert rows[2].cells == ("[[BERT\\|BERT]]", "Encoder")


def test_markdown_links_urls_images_and_anchors() -> None:
    text = (
        "[softmax](./01_Basic/transformers/softmax.md) [folder](./01_Basic/) "
        "[paper](https://arxiv.org/abs/1) ![badge](https://img.shields.io/x.svg) ![pic](img/a.png) "
        "[top](#1-基础概念) see https://example.com/a_b.html, and (https://x.org/y)."
    )
    found = [(f.link.kind, f.link.target, f.link.heading) for f in scan_markdown(text).links]
    assert found == [
        ("markdown", "./01_Basic/transformers/softmax", None),
        ("markdown", "./01_Basic/", None),
        ("url", "https://arxiv.org/abs/1", None),
        ("embed", "img/a.png", None),
        ("markdown", "", "1-基础概念"),
        ("url", "https://example.com/a_b.html", None),
        ("url", "https://x.org/y", None),
    ]


def test_hugo_toml_table_lines_are_not_links() -> None:
    text = '[[items]]\nname = "x"\n\n[[menu.main]]\n  weight = 1\n\n[[Real Link]]\n'
    assert links_of(text) == [("wiki", "Real Link")]


def test_tags_rules() -> None:
    text = (
        "#ai/llm and #Rl/Policy-Gradient, #1984 x#no (#yes) https://a.b/#frag [x](#anchor) `#code`\n"
        "# Heading is not a tag\n#标签 #tail-/ #中文/子标签。\n"
    )
    tags = [t for t, _ in scan_markdown(text).tags]
    assert tags == ["ai/llm", "rl/policy-gradient", "yes", "标签", "tail", "中文/子标签"]
    assert normalise_tag("#1984") is None
    assert normalise_tag("AI/LLM/") == "ai/llm"


def test_headings_and_paths_with_numbered_sections() -> None:
    text = "# Title\n## 5. 强化学习\n### 5.3 群体相对策略优化（GRPO）\n## 6. 其他 ##\n#nospace\n"
    masked = mask_non_markdown(text)
    headings = find_headings(masked, LineIndex(text))
    assert [(h.line, h.level, h.text) for h in headings] == [
        (1, 1, "Title"),
        (2, 2, "5. 强化学习"),
        (3, 3, "5.3 群体相对策略优化（GRPO）"),
        (4, 2, "6. 其他"),
    ]
    assert heading_paths(headings)[2] == ("Title", "5. 强化学习", "5.3 群体相对策略优化（GRPO）")


def test_nested_lists_depth_parent_and_reset_at_headings() -> None:
    text = "## A\n- one\n  - one.a\n    - one.a.i\n  - one.b\n- two\n## B\n    - indented start\n1. numbered\n"
    masked = mask_non_markdown(text)
    lines = LineIndex(text)
    items = find_list_items(masked, lines, find_headings(masked, lines))
    assert [(i.text, i.depth) for i in items] == [
        ("one", 1),
        ("one.a", 2),
        ("one.a.i", 3),
        ("one.b", 2),
        ("two", 1),
        ("indented start", 1),
        ("numbered", 1),
    ]
    assert items[2].parent == 1 and items[3].parent == 0 and items[4].parent is None
    assert items[5].heading_index == 1


def test_blockquotes_and_line_numbers() -> None:
    text = "a\n> 前置知识：[[X]]\n> more\nb"
    scan = scan_markdown(text)
    assert scan.blockquotes == {2, 3}
    assert scan.links[0].link.line == 2
    assert scan.lines.line_text(2) == "> 前置知识：[[X]]"


def test_plain_text_shows_what_a_reader_sees() -> None:
    assert plain_text("见 [[a/B|别名]]、[[a/C]] 和 [文字](u.md)") == "见 别名、C 和 文字"


def test_setext_headings_but_not_rules_lists_or_tables() -> None:
    text = "Title\n=====\n\nIntro\n\nSection\n-------\n- item\n---\n\n| a |\n|---|\n\n---\n"
    scan = scan_markdown(text)
    assert [(h.line, h.level, h.text) for h in scan.headings] == [(1, 1, "Title"), (6, 2, "Section")]
    assert heading_paths(scan.headings)[1] == ("Title", "Section")


def test_a_forgotten_masked_text_is_made_again_the_same() -> None:
    text = "# T\n\nUse `[[not a link]]` and [[PPO]].\n\n```python\nx = '[[GRPO]]'\n```\n%% hidden %%\n"
    scan = scan_markdown(text)
    masked = scan.masked
    assert masked != text and len(masked) == len(text) and "hidden" not in masked
    scan.forget_masked()  # a one-shot read does this between the stages that read it
    assert scan._masked is None
    assert scan.masked == masked and scan._masked == masked  # made again, then kept until forgotten
