"""How much of the cp1254 mojibake does ``ingest.encoding`` repair, and what does it cost on clean notes?

Clean text (seed 001 — the clean version of 000 —, seed 002, and antiai notes held out from the
frequency table) is damaged exactly as the seeds were (UTF-8 read as Windows-1254, the bytes that
code page lacks and the soft hyphen dropped), repaired, and compared with the original character
by character. ftfy alone is the baseline. To keep the figures honest, the frequency table used for
each evaluation is built without the evaluated text:

- table T1 = antiai train split (80 % of notes by path hash) -> evaluated on seeds 001/002 and on
  the antiai test split (20 %), both unseen by T1;
- table T2 = seeds 001/002 only (a tiny table) -> evaluated on the antiai test split;
- the shipped table (everything) on the same sets, in-sample, for comparison.

Then the clean-file overhead: ``decode_note`` vs ``bytes.decode("utf-8")`` over every antiai note.

    .venv/bin/python bench/mojibake_accuracy.py [--shared ../shared] [--limit-chars N]
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import platform
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ftfy

from ingest.encoding import (
    FreqTable,
    _may_hold_mojibake,
    build_freq_table,
    corrupt_like_cp1254,
    decode_note,
    default_freq_table,
    repair_mojibake,
)

REPO = Path(__file__).resolve().parent.parent
CLEAN_SEEDS = ("001_5509ce86eee9d686.txt", "002_83832c50a772856a.txt")
DAMAGED_SEEDS = ("000_4abc7dadc98db792.txt", "003_4522714a0e56e405.txt", "004_1612dd530d1dfe20.txt")
DROPPED = frozenset([0x81, 0x8D, 0x8E, 0x8F, 0x90, 0x9D, 0x9E, 0xAD])


def is_damaged(ch: str) -> bool:
    """The damage loses a byte of this character (so repair has to guess it back)."""
    return ord(ch) >= 0x80 and any(b in DROPPED for b in ch.encode("utf-8", "surrogatepass")[1:])


@dataclass
class Score:
    chars: int = 0
    correct: int = 0
    non_ascii: int = 0
    non_ascii_correct: int = 0
    damaged: int = 0
    damaged_correct: int = 0

    def add(self, original: str, repaired: str) -> None:
        self.chars += len(original)
        if len(original) == len(repaired):
            pairs: list[tuple[str, str | None]] = list(zip(original, repaired, strict=True))
        else:  # ftfy may change lengths (quotes, ligatures): align, unmatched chars count as wrong
            pairs = aligned_pairs(original, repaired)
        for a, b in pairs:
            ok = a == b
            self.correct += ok
            if ord(a) >= 0x80:
                self.non_ascii += 1
                self.non_ascii_correct += ok
                if is_damaged(a):
                    self.damaged += 1
                    self.damaged_correct += ok

    def row(self, label: str) -> str:
        def pct(n: int, d: int) -> str:
            return f"{100 * n / d:8.3f}%" if d else "     n/a"

        return (
            f"{label:<44} {self.chars:>9} {pct(self.correct, self.chars)} "
            f"{self.non_ascii:>8} {pct(self.non_ascii_correct, self.non_ascii)} "
            f"{self.damaged:>7} {pct(self.damaged_correct, self.damaged)}"
        )


def aligned_pairs(original: str, repaired: str) -> list[tuple[str, str | None]]:
    """Pair each original character with the repaired one difflib aligns it to (None if none)."""
    pairs: list[tuple[str, str | None]] = []
    a_lines = original.split("\n")
    b_lines = repaired.split("\n")
    if len(a_lines) != len(b_lines):
        a_lines, b_lines = [original], [repaired]
    for a, b in zip(a_lines, b_lines, strict=True):
        matched: list[str | None] = [None] * len(a)
        for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
            for k in range(block.size):
                matched[block.a + k] = b[block.b + k]
        pairs += list(zip(a, matched, strict=True))
    return pairs


def held_out(path: Path) -> bool:
    return hashlib.sha1(path.as_posix().encode()).digest()[0] % 5 == 0


def read(paths: Sequence[Path]) -> list[str]:
    return [p.read_bytes().decode("utf-8", errors="replace") for p in paths]


def score_set(texts: Sequence[str], repair: Callable[[str], str]) -> Score:
    score = Score()
    for text in texts:
        score.add(text, repair(corrupt_like_cp1254(text)))
    return score


def ours(table: FreqTable) -> Callable[[str], str]:
    def run(damaged: str) -> str:
        fixed = repair_mojibake(damaged, table)
        return damaged if fixed is None else fixed.text

    return run


def ftfy_only(damaged: str) -> str:
    return str(ftfy.fix_text(damaged))


def ftfy_encoding_only(damaged: str) -> str:
    # ftfy restricted to encoding fixes (no quote uncurling etc.): its best case on this damage
    return str(
        ftfy.fix_text(
            damaged,
            ftfy.TextFixerConfig(
                uncurl_quotes=False, fix_latin_ligatures=False, fix_character_width=False, normalization=None
            ),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--skip-ftfy", action="store_true", help="skip the (slow) ftfy baseline rows")
    parser.add_argument("--limit-chars", type=int, default=0, help="cap the antiai test split (0 = all)")
    args = parser.parse_args()
    shared: Path = args.shared

    notes = sorted((shared / "corpora" / "antiai").rglob("*.md"))
    train = [p for p in notes if not held_out(p)]
    test = [p for p in notes if held_out(p)]
    seeds = read([shared / "seeds" / n for n in CLEAN_SEEDS])
    test_texts = read(test)
    if args.limit_chars:
        kept: list[str] = []
        for t in test_texts:
            if sum(map(len, kept)) >= args.limit_chars:
                break
            kept.append(t)
        test_texts = kept

    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(
        f"antiai: {len(notes)} notes, train {len(train)}, test {len(test_texts)} "
        f"({sum(map(len, test_texts))} chars); seeds 001+002: {sum(map(len, seeds))} chars\n"
    )

    t0 = time.perf_counter()
    t1 = build_freq_table(read(train))
    t2 = build_freq_table(seeds)
    shipped = default_freq_table()
    print(
        f"tables: T1 antiai-train {len(t1.unigrams)} chars/{len(t1.bigrams)} bigrams, "
        f"T2 seeds {len(t2.unigrams)}/{len(t2.bigrams)}, shipped {len(shipped.unigrams)}/"
        f"{len(shipped.bigrams)} (built in {time.perf_counter() - t0:.1f}s)\n"
    )

    header = (
        f"{'set / method':<44} {'chars':>9} {'correct':>9} {'non-ascii':>8} {'correct':>9} "
        f"{'damaged':>7} {'correct':>9}"
    )
    print(header)
    print("-" * len(header))
    runs: list[tuple[str, Sequence[str], Callable[[str], str]]] = [
        ("seeds 001+002 | ours, T1 (held out)", seeds, ours(t1)),
        ("seeds 001+002 | ours, shipped (in-sample)", seeds, ours(shipped)),
        ("seeds 001+002 | ours, no table", seeds, ours(FreqTable({}, {}, 0))),
        ("seeds 001+002 | ftfy.fix_text", seeds, ftfy_only),
        ("seeds 001+002 | ftfy, encoding fixes only", seeds, ftfy_encoding_only),
        ("antiai test   | ours, T1 (held out)", test_texts, ours(t1)),
        ("antiai test   | ours, T2 seeds only (held out)", test_texts, ours(t2)),
        ("antiai test   | ours, shipped (in-sample)", test_texts, ours(shipped)),
        ("antiai test   | ftfy.fix_text", test_texts, ftfy_only),
        ("antiai test   | ftfy, encoding fixes only", test_texts, ftfy_encoding_only),
    ]
    for label, texts, repair in runs:
        if args.skip_ftfy and "ftfy" in label:
            continue
        t0 = time.perf_counter()
        score = score_set(texts, repair)
        print(score.row(label) + f"  {time.perf_counter() - t0:6.1f}s", flush=True)

    print("\nreal damaged seeds (no clean original except 000 ~ 001, an older version):")
    clean_001 = seeds[0]
    for name in DAMAGED_SEEDS:
        decoded = decode_note((shared / "seeds" / name).read_bytes())
        print(f"  {name}: {decoded.encoding}, unrepaired={decoded.unrepaired}; {decoded.message}")
        if name.startswith("000"):
            # 000 is an older version of 001: compare the note names its links point to
            def names(text: str) -> set[str]:
                return {t.split("/")[-1].strip() for t in re.findall(r"\[\[([^\]|#]+)", text)}

            ours_names = {n for n in names(decoded.text) if re.search("[\u4e00-\u9fff]", n)}
            clean_names = names(clean_001)
            one_off = [
                (n, c)
                for n in sorted(ours_names - clean_names)
                for c in sorted(clean_names)
                if len(c) == len(n) and sum(x != y for x, y in zip(n, c, strict=True)) == 1
            ]
            print(
                f"    link targets with Chinese in repaired 000 also linked from clean 001: "
                f"{len(ours_names & clean_names)}/{len(ours_names)} identical; one character off: {one_off}"
            )

    print("\nclean-file overhead (every antiai note, raw bytes in memory, best of 10):")
    raws = [p.read_bytes() for p in notes]
    size = sum(map(len, raws))
    decode_note(raws[0])  # warm up (imports, caches)
    baseline = min(timed(lambda: [r.decode("utf-8") for r in raws]) for _ in range(10))
    precheck = min(timed(lambda: [_may_hold_mojibake(r) for r in raws]) for _ in range(10))
    ours_t = min(timed(lambda: [decode_note(r) for r in raws]) for _ in range(10))
    deeper = sum(_may_hold_mojibake(r) for r in raws)
    repaired = sum(decode_note(r).repaired for r in raws)
    print(
        f"  {len(raws)} notes, {size / 1e6:.1f} MB: bytes.decode {baseline * 1e3:.1f} ms, "
        f"decode_note {ours_t * 1e3:.1f} ms (+{(ours_t - baseline) * 1e3:.1f} ms, "
        f"{(ours_t - baseline) / len(raws) * 1e6:.1f} us/note); byte pre-check alone {precheck * 1e3:.1f} ms; "
        f"notes past the pre-check {deeper}; falsely repaired {repaired}"
    )


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
