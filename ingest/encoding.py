"""Turning a note's raw bytes into text: BOMs, GB18030, and cp1254 mojibake repair.

Pure functions over bytes and strings; the only file this module reads is its own
frequency table (``ingest/data/zh_freq.tsv``), loaded once on first need.

The mojibake this repairs (SPEC §2): UTF-8 bytes decoded as Windows-1254, where the bytes
that code page lacks (0x81 0x8D 0x8E 0x8F 0x90 0x9D 0x9E) and the soft hyphen (0xAD) were
dropped, then saved again as UTF-8. Encoding such text back to cp1254 returns the original
UTF-8 bytes minus those continuation bytes. Lead bytes are never lost (all of 0xC2-0xF4 exist
in cp1254), so every damaged character is one lead byte with too few continuation bytes; the
missing ones are put back by trying each dropped byte value at each position and choosing
among the valid characters by Chinese character and bigram frequency (a Viterbi pass over
runs of ambiguous characters).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import combinations, pairwise, product

__all__ = [
    "DROPPED_BYTES",
    "DecodedText",
    "FreqTable",
    "MojibakeRepair",
    "build_freq_table",
    "corrupt_like_cp1254",
    "decode_note",
    "default_freq_table",
    "looks_binary",
    "repair_mojibake",
]

MOJIBAKE_CODEC = "cp1254"
# Continuation bytes the damage drops: undefined in cp1254, plus 0xAD (soft hyphen, stripped).
DROPPED_BYTES: bytes = bytes([0x81, 0x8D, 0x8E, 0x8F, 0x90, 0x9D, 0x9E, 0xAD])
MOJIBAKE_ENCODING_SUFFIX = "+mojibake-repaired(cp1254)"

_BINARY_SNIFF_BYTES = 8192
_BINARY_CONTROL_RATIO = 0.10
# Controls that plain text does contain: \b \t \n \v \f \r and ESC (ANSI colour in pasted logs).
_TEXT_CONTROLS = frozenset(b"\b\t\n\v\f\r\x1b")
_BINARY_CONTROLS = bytes(b for b in range(0x20) if b not in _TEXT_CONTROLS)
# A UTF-8 file with at most this share of invalid bytes is read as damaged UTF-8, not as GB18030.
_UTF8_DAMAGE_RATIO = 0.01
_VITERBI_WIDTH = 24  # candidates kept per slot inside a run of ambiguous characters
_MAX_MISSING_PER_CHAR = 2  # 3 missing bytes = 8**3 guesses with nothing left to judge them by


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str  # "utf-8", "utf-8-sig", "gb18030", "utf-8+mojibake-repaired(cp1254)", ...
    repaired: bool  # mojibake was found and repaired
    unrepaired: int  # characters that could not be recovered (replaced by U+FFFD or left)
    message: str | None  # a sentence for the problem report when repaired/unrepaired/fallback


# ---------------------------------------------------------------------------------------------
# cp1254 byte <-> character maps, and the cheap "could this be mojibake at all" pattern


def _cp1254_char_to_byte() -> dict[str, int]:
    table: dict[str, int] = {}
    for b in range(0x80, 0x100):
        try:
            table[bytes([b]).decode(MOJIBAKE_CODEC)] = b
        except UnicodeDecodeError:
            continue  # 0x81 0x8D 0x8E 0x8F 0x90 0x9D 0x9E: undefined, these are what got dropped
    return table


_BYTE_OF: dict[str, int] = _cp1254_char_to_byte()
_LEAD_CHARS = "".join(c for c, b in _BYTE_OF.items() if 0xC2 <= b <= 0xF4)
_CONT_CHARS = "".join(c for c, b in _BYTE_OF.items() if 0x80 <= b <= 0xBF)
# A UTF-8 lead byte seen through cp1254 followed by a continuation byte seen through cp1254:
# "å¤", "è¯", "â€", "ï¼". Clean text almost never has such a pair; one search, in C.
_SUSPECT = re.compile(f"[{re.escape(_LEAD_CHARS)}][{re.escape(_CONT_CHARS)}]")
# Runs of characters that are non-ASCII bytes in cp1254: where mojibake lives. UTF-8 multibyte
# sequences never contain ASCII, so ASCII always splits them.
_CLUSTER = re.compile(f"[{re.escape(''.join(_BYTE_OF))}]+")


# ---------------------------------------------------------------------------------------------
# Character and bigram frequencies


# The table is counted over a "context view" of the text: ASCII letters fold to "a", digits to "0",
# spaces and tabs vanish. "PPO 与 GRPO" and "PPO与GRPO" both read "a与a", which is what tells
# 与 from 中 (E4 B8 8E vs E4 B8 AD, both damaged to "ä¸") when Chinese and English are mixed.
_CONTEXT_VIEW = {
    **{ord(c): "a" for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{ord(c): "0" for c in "0123456789"},
    ord(" "): None,
    ord("\t"): None,
}
_SKIPPED = frozenset(" \t")


def context_view(text: str) -> str:
    return text.translate(_CONTEXT_VIEW)


# Emoji_Presentation=Yes characters of the BMP (Unicode emoji-data): the emoji people type.
_EMOJI_BMP = frozenset(
    "⌚⌛⏩⏪⏫⏬⏰⏳◽◾☔☕♈♉♊♋♌♍♎♏♐♑♒♓♿⚓⚡⚪⚫⚽⚾⛄⛅⛎⛔⛪⛲⛳⛵⛺⛽✅✊✋✨❌❎❓❔❕❗➕➖➗➰➿⬛⬜⭐⭕"
)


@cache
def _prior(ch: str) -> float:
    """How likely an unseen character is in a note, from what it is (no data needed).

    GB2312 level 1 holds the 3755 most used hanzi and level 2 the next 3008: a frequency ranking
    that comes with the codec.
    """
    try:
        gb = ch.encode("gb2312")
    except UnicodeEncodeError:
        gb = b""
    if len(gb) == 2:
        if 0xB0 <= gb[0] <= 0xD7:
            return 1.0
        if 0xD8 <= gb[0] <= 0xF7:
            return 0.1
        return 0.3  # GB2312 punctuation, full-width forms, kana, Greek, box drawing
    cat = unicodedata.category(ch)
    if "\u4e00" <= ch <= "\u9fff":
        return 0.01
    if ch in _EMOJI_BMP or "\U0001f300" <= ch <= "\U0001faff":  # notes use ⭐ ✅ 🧠 and friends
        return 0.5
    if "\U0001d400" <= ch <= "\U0001d7ff":  # mathematical letters (𝑥 𝐸) in pasted formulas
        return 0.1
    if cat.startswith(("P", "S")):
        return 0.03
    return 0.005


@dataclass(frozen=True, slots=True)
class FreqTable:
    """Character and bigram counts from clean text (in its context view).

    Bigrams are kept only when one of their characters could be a repair candidate (its UTF-8
    has a droppable byte in a continuation position): those are the only ones ever looked up.
    (Also tried on held-out notes: trigrams, +0.05 points on damaged characters for twice the
    size; mixing in a general word list (jieba's dictionary), no gain. Neither is used.)
    """

    unigrams: dict[str, int]
    bigrams: dict[str, int]  # key: the two characters concatenated
    total: int

    def p_uni(self, cur: str) -> float:
        return (self.unigrams.get(cur, 0) + _PRIOR_WEIGHT * _prior(cur)) / (self.total + _PRIOR_WEIGHT)

    def p_bi(self, prev: str, cur: str) -> float:
        """Smoothed P(cur | prev): bigram interpolated with a unigram that backs off to a prior."""
        c_prev = self.unigrams.get(prev, 0)
        if c_prev:
            bi = self.bigrams.get(prev + cur, 0) / c_prev
            return _BIGRAM_WEIGHT * bi + (1 - _BIGRAM_WEIGHT) * self.p_uni(cur)
        return self.p_uni(cur)

    def log_prob(self, prev: str, cur: str) -> float:
        return math.log(self.p_bi(prev, cur))

    def log_window(self, prev: str, cur: str, nxt: str) -> float:
        """log P(cur, nxt | prev) under the bigram chain ("" = no context on that side)."""
        return math.log(self.p_bi(prev, cur) * (self.p_bi(cur, nxt) if nxt else 1.0))


_PRIOR_WEIGHT = 2.0  # pseudo-count of the prior: an unseen level-1 hanzi ranks like one seen twice
_BIGRAM_WEIGHT = 0.7


def _droppable(ch: str) -> bool:
    """True when the UTF-8 of `ch` has a byte the damage drops (so it can be a repair candidate)."""
    if ord(ch) < 0x80:
        return False
    return any(b in DROPPED_BYTES for b in ch.encode("utf-8", "surrogatepass")[1:])


def build_freq_table(texts: Iterable[str], min_bigram: int = 2, min_unigram: int = 1) -> FreqTable:
    """Count characters and the bigrams that repair can ask about, over clean `texts`."""
    uni: Counter[str] = Counter()
    bi: Counter[str] = Counter()
    droppable: dict[str, bool] = {}
    for text in texts:
        view = context_view(text)
        uni.update(view)
        for a, b in pairwise(view):
            da = droppable.get(a)
            if da is None:
                da = droppable[a] = _droppable(a)
            db = droppable.get(b)
            if db is None:
                db = droppable[b] = _droppable(b)
            if da or db:
                bi[a + b] += 1
    total = sum(uni.values())
    unigrams = {c: n for c, n in uni.items() if n >= min_unigram}
    bigrams = {k: n for k, n in bi.items() if n >= min_bigram}
    return FreqTable(unigrams=unigrams, bigrams=bigrams, total=total)


def dump_freq_table(table: FreqTable) -> str:
    """Serialise as text: a header line, then `U<TAB>char<TAB>count` and `B<TAB>pair<TAB>count`."""

    def esc(s: str) -> str:
        return s.encode("unicode_escape").decode("ascii") if not s.isprintable() or "\\" in s else s

    lines = [f"# kg zh_freq v2 total={table.total} (context view: ASCII letters=a, digits=0, no spaces)"]
    lines += [f"U\t{esc(c)}\t{n}" for c, n in sorted(table.unigrams.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += [f"B\t{esc(k)}\t{n}" for k, n in sorted(table.bigrams.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines) + "\n"


def load_freq_table(data: str) -> FreqTable:
    def unesc(s: str) -> str:
        return s.encode("ascii").decode("unicode_escape") if s.isascii() and "\\" in s else s

    unigrams: dict[str, int] = {}
    bigrams: dict[str, int] = {}
    by_kind = {"U": unigrams, "B": bigrams}
    total = 0
    for line in data.split("\n"):
        if not line:
            continue
        if line.startswith("#"):
            m = re.search(r"total=(\d+)", line)
            total = int(m.group(1)) if m else total
            continue
        kind, key, count = line.split("\t")
        by_kind[kind][unesc(key)] = int(count)
    return FreqTable(unigrams, bigrams, total or sum(unigrams.values()))


@cache
def default_freq_table() -> FreqTable:
    """The table shipped in ``ingest/data/zh_freq.tsv`` (empty if it is missing)."""
    try:
        data = resources.files("ingest").joinpath("data/zh_freq.tsv").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return FreqTable(unigrams={}, bigrams={}, total=0)
    return load_freq_table(data)


# ---------------------------------------------------------------------------------------------
# Repair


def corrupt_like_cp1254(text: str) -> str:
    """Reproduce the damage: UTF-8 read as cp1254 (undefined bytes dropped), soft hyphens dropped."""
    return text.encode("utf-8").decode(MOJIBAKE_CODEC, errors="ignore").replace("\xad", "")


def _seq_len(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _usable(ch: str) -> bool:
    return unicodedata.category(ch) not in ("Cn", "Co", "Cs", "Cc")


@cache
def _candidates(lead: int, present: bytes) -> tuple[str, ...]:
    """Characters that `lead` + `present` continuation bytes can be with the missing bytes put back."""
    n = _seq_len(lead)
    missing = n - 1 - len(present)
    found: list[str] = []
    for positions in combinations(range(n - 1), missing):
        for values in product(DROPPED_BYTES, repeat=missing):
            conts = list(present)
            for pos, val in zip(positions, values, strict=True):
                conts.insert(pos, val)
            try:
                ch = bytes([lead, *conts]).decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and _usable(ch) and ch not in found:
                found.append(ch)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class _ClusterParse:
    slots: list[tuple[str, ...]]  # one entry per output character; >1 entries = ambiguous
    damaged: int  # characters that had lost bytes
    complete: int  # multibyte characters with all their bytes
    lost: int  # damaged characters with nothing valid to rebuild (U+FFFD in their place)
    parseable: bool  # no orphan continuation byte, no invalid lead byte


_UNPARSEABLE = _ClusterParse([], 0, 0, 0, False)


def _parse_cluster(raw: bytes) -> _ClusterParse:
    slots: list[tuple[str, ...]] = []
    damaged = complete = lost = 0
    i, size = 0, len(raw)
    while i < size:
        lead = raw[i]
        n = _seq_len(lead)
        if n == 0:  # an orphan continuation byte or an impossible lead: not our damage
            return _UNPARSEABLE
        j = i + 1
        while j < size and j - i < n and 0x80 <= raw[j] <= 0xBF:
            j += 1
        present = raw[i + 1 : j]
        missing = n - 1 - len(present)
        if missing == 0:
            complete += 1
            try:
                slots.append((raw[i:j].decode("utf-8"),))
            except UnicodeDecodeError:  # overlong / surrogate: cannot come from valid UTF-8
                return _UNPARSEABLE
        else:
            damaged += 1
            cands = _candidates(lead, bytes(present)) if missing <= _MAX_MISSING_PER_CHAR else ()
            slots.append(cands or ("\ufffd",))
            lost += not cands
        i = j
    return _ClusterParse(slots, damaged, complete, lost, True)


def _best_path(slots: Sequence[tuple[str, ...]], left: str, right: str, table: FreqTable) -> list[str]:
    """Choose a character for every ambiguous slot, given fixed context `left`/`right` ("" = none).

    Fixed characters split the slots into independent runs. A lone ambiguous character between
    two fixed ones is scored on both sides at once; longer runs by a bigram Viterbi.
    """
    chosen = [options[0] for options in slots]
    i = 0
    while i < len(slots):
        if len(slots[i]) == 1:
            i += 1
            continue
        j = i
        while j < len(slots) and len(slots[j]) > 1:
            j += 1
        prev = chosen[i - 1] if i > 0 else left
        nxt = chosen[j] if j < len(slots) else right
        if j == i + 1:
            chosen[i] = max(slots[i], key=lambda c: table.log_window(prev, c, nxt))
        else:
            # keep the likeliest few per slot: a run of 4-byte characters with two lost bytes
            # each could otherwise cost 192 x 192 transitions per character
            pruned = [tuple(sorted(options, key=table.p_uni, reverse=True)[:_VITERBI_WIDTH]) for options in slots[i:j]]
            chosen[i:j] = _viterbi(pruned, prev, nxt, table)
        i = j
    return chosen


def _viterbi(slots: Sequence[tuple[str, ...]], left: str, right: str, table: FreqTable) -> list[str]:
    # best[c] = (log-prob of the best path ending in c, that path)
    best: dict[str, tuple[float, list[str]]] = {left: (0.0, [])}
    for options in slots:
        step: dict[str, tuple[float, list[str]]] = {}
        for c in options:
            score, path = max(
                ((score + table.log_prob(p, c), path) for p, (score, path) in best.items()),
                key=lambda sp: sp[0],
            )
            step[c] = (score, [*path, c])
        best = step
    if right:
        return max(best.items(), key=lambda kv: kv[1][0] + table.log_prob(kv[0], right))[1][1]
    return max(best.values(), key=lambda sp: sp[0])[1]


def _first_context(s: str) -> str:
    for ch in s:
        if ch not in _SKIPPED:
            return context_view(ch)
    return ""


def _last_context(s: str) -> str:
    return _first_context(s[::-1]) if s else ""


@dataclass(frozen=True, slots=True)
class MojibakeRepair:
    text: str
    rebuilt: int  # characters rebuilt from dropped bytes (a guess by frequency where ambiguous)
    lost: int  # characters that lost too much to rebuild: U+FFFD now stands in their place
    left: int  # characters left as they were: in runs that are not misread UTF-8


# Closing brackets the damage can take (」 E3 80 8D, 』 8F, ” E2 80 9D, ...) and their openers.
_PAIRS = {"」": "「", "』": "『", "】": "【", "〗": "〖", "》": "《", "）": "（", "〉": "〈", "”": "“", "’": "‘"}
_CLOSERS = frozenset(_PAIRS)


def _unclosed(before: list[str], after: list[str], opener: str, closer: str) -> bool:
    """Does `before` leave an `opener` open that nothing in `after` closes?"""
    depth = 0
    for ch in before:
        if ch == opener:
            depth += 1
        elif ch == closer and depth:
            depth -= 1
    fresh = 0  # openers inside `after`, which its own closers match first
    for ch in after:
        if ch == opener:
            fresh += 1
        elif ch == closer:
            if fresh:
                fresh -= 1
            elif depth:
                depth -= 1
    return depth > 0


def _balance_brackets(text: str, slots: list[tuple[int, tuple[str, ...]]]) -> str:
    """Where a line opens 「 (or 『 “ …) and never closes it, the last rebuilt character after the
    opener that could have been the closer is the closer ("「懂、LLM" -> "「懂」LLM"). Frequencies
    alone can't see a pair; later slots go first so that "「甲、乙」" keeps its 、."""
    if not slots:
        return text
    chars = list(text)
    for index, options in reversed(slots):
        line_start = text.rfind("\n", 0, index) + 1
        line_end = text.find("\n", index)
        line_end = len(text) if line_end == -1 else line_end
        for closer in _CLOSERS.intersection(options):
            if chars[index] == closer:
                break
            opener = _PAIRS[closer]
            if _unclosed(chars[line_start:index], chars[index + 1 : line_end], opener, closer):
                chars[index] = closer
                break
    return "".join(chars)


def _repair(text: str, given_table: FreqTable | None) -> MojibakeRepair | None:
    matches = list(_CLUSTER.finditer(text))
    parses = [_parse_cluster(bytes(_BYTE_OF[c] for c in m.group())) for m in matches]
    kept = [(m, p) for m, p in zip(matches, parses, strict=True) if p.parseable]
    # Mojibake: most clusters parse as UTF-8, and most characters in them came through whole (the
    # damage takes ~1 continuation byte in 8; a CJK character loses one ~23 % of the time).
    # Genuine Latin text ("Tomáš", "naïve") has no whole multibyte character and fails this.
    complete = sum(p.complete for _, p in kept)
    if not complete or 2 * complete < sum(p.damaged for _, p in kept) or 2 * len(kept) < len(matches):
        return None
    table = given_table if given_table is not None else default_freq_table()  # loaded on first need
    gain = 0.0  # log-likelihood of the repaired clusters minus that of the text as it stands
    # Clusters separated only by spaces/tabs are decided together (one Viterbi segment), with the
    # nearest non-space characters outside them as context.
    out: list[str] = []
    out_len = pos = 0
    segment: list[tuple[re.Match[str], _ClusterParse]] = []
    closer_slots: list[tuple[int, tuple[str, ...]]] = []  # (index in the output, options)

    def flush(right: str) -> None:
        nonlocal pos, gain, out_len
        if not segment:
            return
        start = segment[0][0].start()
        left = _last_context(text[max(0, start - 64) : start])
        chars = _best_path([s for _, p in segment for s in p.slots], left, right, table)
        k = 0
        for m, p in segment:
            new = chars[k : k + len(p.slots)]
            k += len(p.slots)
            out.append(text[pos : m.start()])
            out_len += m.start() - pos
            pos = m.end()
            # (A cluster is not judged on its own: "âˆ" -> "∝" and "áš" -> "ᚁ" look alike, and in
            # a misread file genuine "Tomáš" would have been misread too, into "TomÃ¡Å¡".)
            for offset, options in enumerate(p.slots):
                if len(options) > 1 and _CLOSERS.intersection(options):
                    closer_slots.append((out_len + offset, options))
            out.append("".join(new))
            out_len += len(new)
            gain += sum(math.log(table.p_uni(c)) for c in new) - sum(math.log(table.p_uni(c)) for c in m.group())
        segment.clear()

    for m, parse in kept:
        if segment:
            gap = text[segment[-1][0].end() : m.start()]
            if gap.strip(" \t"):
                flush(_first_context(gap))
        segment.append((m, parse))
    if segment:
        end = segment[-1][0].end()
        flush(_first_context(text[end : end + 64]))
    out.append(text[pos:])
    if gain <= 0:  # "1×”" reads better than the Hebrew "1ה" it also parses as: leave it
        return None
    repaired = _balance_brackets("".join(out), closer_slots)
    lost = sum(p.lost for _, p in kept)
    rebuilt = sum(p.damaged for _, p in kept) - lost
    left = sum(len(m.group()) for m, p in zip(matches, parses, strict=True) if not p.parseable)
    # a BOM that was itself misread ("ï»¿") comes back as U+FEFF: drop it like any BOM
    return MojibakeRepair(repaired.removeprefix("\ufeff"), rebuilt, lost, left)


def repair_mojibake(text: str, table: FreqTable | None = None) -> MojibakeRepair | None:
    """Repair cp1254 mojibake in `text` (`table`: the shipped frequencies unless given).

    None when the text shows no such damage.
    """
    if not _SUSPECT.search(text):
        return None
    return _repair(text, table)


# ---------------------------------------------------------------------------------------------
# Decoding


def looks_binary(raw: bytes) -> bool:
    """NUL bytes, or many control bytes, in the first few KB (UTF-16 with a BOM is text)."""
    head = raw[:_BINARY_SNIFF_BYTES]
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _BINARY_CONTROLS))  # counted in C
    return controls / len(head) > _BINARY_CONTROL_RATIO


def _decode_base(raw: bytes) -> tuple[str, str, int, str | None]:
    """(text, encoding, characters lost, message) before any mojibake repair."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
        lost = text.count("\ufffd")
        return text, "utf-16", lost, ("UTF-16 with invalid units" if lost else None)
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    body = raw[3:] if encoding == "utf-8-sig" else raw
    try:
        return body.decode("utf-8"), encoding, 0, None
    except UnicodeDecodeError:
        pass
    lossy = body.decode("utf-8", errors="replace")
    bad = lossy.count("\ufffd") - body.count(b"\xef\xbf\xbd")  # don't count U+FFFD already there
    if bad <= max(1, int(len(body) * _UTF8_DAMAGE_RATIO)) and len(lossy) < len(body):
        return (
            lossy,
            encoding,
            bad,
            f"invalid UTF-8: {bad} byte sequence(s) could not be decoded and were replaced by U+FFFD",
        )
    try:
        return body.decode("gb18030"), "gb18030", 0, "not UTF-8; read as GB18030 (GBK), the Chinese legacy encoding"
    except UnicodeDecodeError:
        pass
    try:
        text = body.decode("cp1252")
        return text, "cp1252", 0, "not UTF-8 or GB18030; read as Windows-1252, non-ASCII text may be wrong"
    except UnicodeDecodeError:
        text = body.decode("latin-1")
        return text, "latin-1", 0, "not UTF-8 or GB18030; read as Latin-1, non-ASCII text may be wrong"


# UTF-8 of the characters _SUSPECT looks for: every lead char is 2 bytes (C3 xx, or C4/C5 xx for
# Ğ İ Ş ğ); a continuation char starts with one of a few bytes (C2 for U+0080-00BF, E2 for € ‘ …).
_LEAD_UTF8 = frozenset(c.encode("utf-8") for c in _LEAD_CHARS)
_LEAD_UTF8_FIRST = tuple(sorted({seq[:1] for seq in _LEAD_UTF8}))
_CONT_UTF8_FIRST = frozenset(c.encode("utf-8")[0] for c in _CONT_CHARS)
_PRECHECK_MAX_HITS = 2000  # past this many lead-like bytes, let the full check decide


def _may_hold_mojibake(raw: bytes) -> bool:
    """Byte-level pre-check: is there a cp1254 lead-byte character followed by a continuation-byte
    character (what _SUSPECT finds, in UTF-8)? Uses bytes.find (memchr), so clean notes, even
    ones with é or × in them, cost next to nothing."""
    hits = 0
    for first in _LEAD_UTF8_FIRST:
        i = raw.find(first)
        while i != -1:
            if raw[i : i + 2] in _LEAD_UTF8 and i + 2 < len(raw) and raw[i + 2] in _CONT_UTF8_FIRST:
                return True
            hits += 1
            if hits > _PRECHECK_MAX_HITS:
                return True
            i = raw.find(first, i + 1)
    return False


def decode_note(raw: bytes, table: FreqTable | None = None) -> DecodedText:
    """Decode a note's bytes, repairing cp1254 mojibake; never raises on any input."""
    text, encoding, lost, message = _decode_base(raw)
    if encoding.startswith("utf-8") and _may_hold_mojibake(raw):
        fixed = repair_mojibake(text, table)
        if fixed is not None:
            parts = [
                "text was UTF-8 misread as Windows-1254 (mojibake) and has been repaired",
                f"{fixed.rebuilt} character(s) rebuilt from dropped bytes, guessed by character frequency"
                if fixed.rebuilt
                else "",
                f"{fixed.lost + lost} character(s) could not be recovered (U+FFFD)" if fixed.lost + lost else "",
                f"{fixed.left} character(s) that do not read as misread UTF-8 were left as they were"
                if fixed.left
                else "",
            ]
            return DecodedText(
                text=fixed.text,
                encoding=encoding + MOJIBAKE_ENCODING_SUFFIX,
                repaired=True,
                unrepaired=fixed.lost + lost + fixed.left,
                message="; ".join(p for p in parts if p) + ".",
            )
    return DecodedText(text=text, encoding=encoding, repaired=False, unrepaired=lost, message=message)
