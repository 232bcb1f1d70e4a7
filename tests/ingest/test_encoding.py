"""ingest.encoding: BOMs, GB18030, fallbacks, cp1254 mojibake repair, binary sniffing."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.encoding import (
    DROPPED_BYTES,
    MOJIBAKE_ENCODING_SUFFIX,
    _may_hold_mojibake,
    build_freq_table,
    corrupt_like_cp1254,
    decode_note,
    default_freq_table,
    dump_freq_table,
    load_freq_table,
    looks_binary,
    repair_mojibake,
)

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# Written for this test (not from the seeds or the corpus): Chinese with English terms mixed in,
# full-width punctuation, an em dash, a 、 (E3 80 81, whose last byte is one the damage drops).
PARAGRAPH = (
    "强化学习（Reinforcement Learning）是机器学习的一个分支：智能体在环境中行动，"
    "根据奖励信号不断调整策略。本笔记比较 PPO 与 GRPO —— 后者去掉了价值网络，"
    "用一组采样回答的平均奖励作为基线、降低显存开销。训练中还需要参考模型与 KL 惩罚，"
    "防止策略偏离太远。下一节介绍如何用 TRL 实现 GRPO，以及奖励模型的设计。\n"
)


def damage(text: str) -> bytes:
    """The damage as SPEC §2 tells it, spelled out independently of corrupt_like_cp1254."""
    misread = text.encode("utf-8").decode("cp1254", errors="ignore")  # 0x81 0x8D ... vanish
    return misread.replace("\xad", "").encode("utf-8")  # the soft hyphen was dropped too


def ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def test_clean_utf8_is_returned_unchanged() -> None:
    raw = PARAGRAPH.encode("utf-8")
    decoded = decode_note(raw)
    assert decoded.text == PARAGRAPH
    assert decoded.encoding == "utf-8"
    assert not decoded.repaired
    assert decoded.unrepaired == 0
    assert decoded.message is None


def test_bom_is_stripped() -> None:
    decoded = decode_note(b"\xef\xbb\xbf" + "# 标题\n正文".encode())
    assert decoded.text == "# 标题\n正文"
    assert decoded.encoding == "utf-8-sig"
    assert not decoded.repaired


def test_gb18030_bytes_are_decoded() -> None:
    decoded = decode_note(PARAGRAPH.encode("gb18030"))
    assert decoded.text == PARAGRAPH
    assert decoded.encoding == "gb18030"
    assert not decoded.repaired
    assert decoded.message is not None and "GB18030" in decoded.message


def test_utf16_with_bom_is_text() -> None:
    raw = "\ufeff# 笔记\nGRPO".encode("utf-16-le")
    assert not looks_binary(raw)
    assert decode_note(raw).text == "# 笔记\nGRPO"


def test_a_few_invalid_bytes_in_utf8_become_replacement_characters() -> None:
    raw = PARAGRAPH.encode("utf-8")
    cut = raw.index("分支".encode()) + 1  # cut a 3-byte character after its lead byte
    broken = raw[:cut] + raw[cut + 2 :]
    decoded = decode_note(broken)
    assert decoded.encoding == "utf-8"
    assert decoded.unrepaired == 1
    assert decoded.text.count("\ufffd") == 1
    assert decoded.message is not None and "U+FFFD" in decoded.message
    assert "强化学习" in decoded.text


def test_bytes_neither_utf8_nor_gb18030_fall_back_to_a_single_byte_codepage_with_a_message() -> None:
    decoded = decode_note(b"caf\xe9 \x80 na\xefve")
    assert decoded.text == "café € naïve"
    assert decoded.encoding == "cp1252"
    assert decoded.message is not None and "Windows-1252" in decoded.message


def test_damage_helper_matches_the_library_corrupter() -> None:
    assert damage(PARAGRAPH) == corrupt_like_cp1254(PARAGRAPH).encode("utf-8")


def test_mojibake_paragraph_is_repaired() -> None:
    raw = damage(PARAGRAPH)
    # the test is only worth something if bytes really were lost (and ftfy-style re-decoding fails)
    lost = len(PARAGRAPH.encode("utf-8")) - len(raw.decode("utf-8").encode("cp1254"))
    assert lost >= 10
    decoded = decode_note(raw)
    assert decoded.repaired
    assert decoded.encoding == "utf-8" + MOJIBAKE_ENCODING_SUFFIX
    assert decoded.message is not None and "Windows-1254" in decoded.message
    assert decoded.unrepaired == 0
    assert ratio(decoded.text, PARAGRAPH) >= 0.97
    for word in ("强化学习", "机器学习", "奖励", "策略", "PPO", "GRPO", "TRL", "价值网络", "、"):
        assert word in decoded.text, word


def test_every_character_with_a_dropped_byte_has_candidates_and_most_come_back() -> None:
    # Each character alone, with no context to lean on: only frequency + prior decide.
    common = "的是在了不和有这中为与对上个们来到时大地以说要就出会可也你而得学习模型训练数据"
    damaged = [ch for ch in common if any(b in DROPPED_BYTES for b in ch.encode("utf-8")[1:])]
    assert damaged  # 不 (E4 B8 8D), 与 (E4 B8 8E), 中 (E4 B8 AD), ...
    back = 0
    for ch in damaged:
        fixed = repair_mojibake(corrupt_like_cp1254("—" + ch + "—"))
        assert fixed is not None
        back += fixed.text == "—" + ch + "—"
    assert back / len(damaged) >= 0.5


def test_mojibake_next_to_genuine_chinese_keeps_both() -> None:
    text = corrupt_like_cp1254("模型训练") + " 和 " + corrupt_like_cp1254("强化学习与奖励")
    fixed = repair_mojibake(text)
    assert fixed is not None
    assert fixed.text == "模型训练 和 强化学习与奖励"


@pytest.mark.parametrize(
    "text",
    [
        "信息过载时代，如何真正「懂」LLM？从面试题开始",  # 」 (E3 80 8D) vs 、 (E3 80 81)
        "「甲、乙」和「丙」的区别",  # the 、 inside stays, the 」 comes back
        "他说“你好”，然后离开",  # ” is E2 80 9D
    ],
)
def test_closing_brackets_come_back_when_the_line_opened_them(text: str) -> None:
    fixed = repair_mojibake(corrupt_like_cp1254(text))
    assert fixed is not None
    assert fixed.text == text


def test_a_misread_bom_is_dropped_after_repair() -> None:
    decoded = decode_note(damage("\ufeff" + PARAGRAPH))
    assert decoded.repaired
    assert decoded.text.startswith("强化学习")


def test_long_runs_of_badly_damaged_characters_are_repaired_within_a_pruned_search() -> None:
    # 🐍 F0 9F 90 8D and 🏍 F0 9F 8F 8D lose two bytes each: ~100 candidates per character, in a
    # run of 80 (the Viterbi keeps the likeliest few per slot, else 100 x 100 steps per character)
    prose = "这是一段正常的文字。" * 30
    decoded = decode_note(damage(prose + "🐍🏍" * 40))
    assert decoded.repaired
    assert decoded.text.startswith(prose)
    assert len(decoded.text) == len(prose) + 80
    assert all(0x10000 <= ord(c) <= 0x1FFFF for c in decoded.text[len(prose) :])  # 4-byte chars


def test_runs_that_are_not_misread_utf8_are_left_and_counted() -> None:
    # added after the damage: "°" and "±" are lone continuation bytes in cp1254, no UTF-8 reading
    tail = "温度 25°C，误差 3±1\n"
    decoded = decode_note(damage(PARAGRAPH * 3) + tail.encode())
    assert decoded.repaired
    assert decoded.text.endswith(tail)
    assert decoded.unrepaired == 2
    assert decoded.message is not None and "2 character(s) that do not read as misread UTF-8" in decoded.message
    assert ratio(decoded.text, PARAGRAPH * 3 + tail) > 0.97


def test_lost_characters_are_counted_and_marked() -> None:
    # "ğ" is byte F0 in cp1254: the lead of a 4-byte character whose three other bytes are all
    # gone, beyond any guess (at most two missing bytes are rebuilt)
    raw = damage(PARAGRAPH * 2) + "ğ".encode() + b" end\n"
    decoded = decode_note(raw)
    assert decoded.repaired
    assert decoded.text.endswith("\ufffd end\n")
    assert decoded.unrepaired == 1
    assert decoded.message is not None and "could not be recovered (U+FFFD)" in decoded.message


def test_genuine_latin_text_is_not_touched() -> None:
    for text in (
        "Tomáš Mikolov, Lukáš Burget",
        "ShuffleNet 1×”, the “s1×” setting",
        "café, naïve, Ærøskøbing, Größe",
        "‘süß’ + ‘-e’",
    ):
        decoded = decode_note(text.encode("utf-8"))
        assert decoded.text == text
        assert not decoded.repaired


def test_looks_binary() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert looks_binary(b"abc\x00def")
    assert looks_binary(bytes(range(1, 32)) * 10)
    assert not looks_binary(PARAGRAPH.encode("utf-8"))
    assert not looks_binary(b"")
    assert not looks_binary(b"\x1b[31mred\x1b[0m\n\tindented\r\n\x0c")


def test_freq_table_round_trips_through_its_text_format() -> None:
    table = build_freq_table(["PPO 与 GRPO", "模型与 KL", "a\\b\u2028c\x85与\t"], min_bigram=1)
    assert load_freq_table(dump_freq_table(table)) == table
    assert table.unigrams["与"] == 3
    # context view: ASCII letters fold to "a", spaces and tabs vanish: "PPO 与 GRPO" reads "a与a"
    assert (table.bigrams["与a"], table.bigrams["a与"], table.bigrams["型与"]) == (2, 1, 1)
    assert " " not in table.unigrams and "\t" not in table.unigrams


def test_shipped_table_loads_and_prefers_common_characters() -> None:
    table = default_freq_table()
    assert len(table.unigrams) > 1000
    assert table.log_prob("训", "练") > table.log_prob("训", "绁")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")
def test_seed_000_decodes_to_readable_chinese() -> None:
    decoded = decode_note((SEEDS / "000_4abc7dadc98db792.txt").read_bytes())
    assert decoded.repaired
    assert decoded.encoding.endswith(MOJIBAKE_ENCODING_SUFFIX)
    assert 'title: "大语言模型 LLM"' in decoded.text
    for word in ("大语言模型", "模型架构", "混合专家", "强化学习", "相关 MOC"):
        assert word in decoded.text, word
    assert "å" not in decoded.text and "æ" not in decoded.text  # no mojibake left


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")
@pytest.mark.parametrize("name", ["003_4522714a0e56e405.txt", "004_1612dd530d1dfe20.txt"])
def test_other_damaged_seeds_are_repaired(name: str) -> None:
    decoded = decode_note((SEEDS / name).read_bytes())
    assert decoded.repaired
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in decoded.text)
    assert cjk > 300
    assert not any(c in decoded.text for c in "åæçèéä")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")
@pytest.mark.parametrize("name", ["001_5509ce86eee9d686.txt", "002_83832c50a772856a.txt"])
def test_clean_seeds_are_left_alone(name: str) -> None:
    raw = (SEEDS / name).read_bytes()
    decoded = decode_note(raw)
    assert decoded.text == raw.decode("utf-8-sig")
    assert not decoded.repaired


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_decode_note_never_raises_and_is_deterministic(raw: bytes) -> None:
    first = decode_note(raw)
    assert first == decode_note(raw)
    assert isinstance(first.text, str)
    assert first.unrepaired >= 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("强化学习与中不的模型训练数据、，。：（）—PPO GRPO\n-#[]|"), max_size=80))
def test_damaged_text_never_raises_and_keeps_ascii(text: str) -> None:
    decoded = decode_note(damage(text))
    ascii_in = [c for c in text if c.isascii()]
    ascii_out = [c for c in decoded.text if c.isascii()]
    assert ascii_out == ascii_in  # ASCII (links, markup) survives repair untouched


_CP1254_CHARS = "".join(ch for b in range(0x80, 0x100) if (ch := bytes([b]).decode("cp1254", errors="ignore")))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(_CP1254_CHARS + "ab 中\n"), max_size=60))
def test_byte_precheck_never_hides_what_repair_would_fix(text: str) -> None:
    # decode_note skips repair when the raw bytes fail the cheap pre-check: that must be safe
    if repair_mojibake(text) is not None:
        assert _may_hold_mojibake(text.encode("utf-8"))
