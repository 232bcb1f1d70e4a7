"""Regenerate ``ingest/data/zh_freq.tsv``, the character/bigram table mojibake repair reads.

Sources: every ``.md`` under ../shared/corpora/antiai and the clean seeds 001 and 002. Only
counts are stored (characters, and bigrams that contain a possible repair candidate), never text.

    .venv/bin/python bench/build_zh_freq.py [--shared ../shared] [--out ingest/data/zh_freq.tsv]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from ingest.encoding import build_freq_table, dump_freq_table

REPO = Path(__file__).resolve().parent.parent
CLEAN_SEEDS = ("001_5509ce86eee9d686.txt", "002_83832c50a772856a.txt")


def corpus_paths(shared: Path) -> list[Path]:
    return sorted((shared / "corpora" / "antiai").rglob("*.md"))


def seed_paths(shared: Path) -> list[Path]:
    return [shared / "seeds" / name for name in CLEAN_SEEDS]


def read_texts(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        yield path.read_bytes().decode("utf-8", errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "ingest" / "data" / "zh_freq.tsv")
    parser.add_argument("--min-bigram", type=int, default=2)
    args = parser.parse_args()
    paths = corpus_paths(args.shared) + seed_paths(args.shared)
    table = build_freq_table(read_texts(paths), min_bigram=args.min_bigram)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump_freq_table(table), encoding="utf-8")
    print(
        f"{len(paths)} files, {table.total} characters -> {len(table.unigrams)} characters, "
        f"{len(table.bigrams)} bigrams, {args.out.stat().st_size // 1024} KB at {args.out}"
    )


if __name__ == "__main__":
    main()
