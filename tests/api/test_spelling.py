"""Typo matching of names the graph does not hold exactly (no database: the table is built in memory)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kg.store.read import ConceptRecord, SpellingTable, spelling_key, typo_budget


def osa_distance(a: str, b: str) -> int:
    """Textbook optimal-string-alignment distance (adjacent transposition = one edit)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def record(i: int, name: str, aliases: tuple[str, ...] = ()) -> ConceptRecord:
    key = f"k{i}"
    return ConceptRecord(uid=f"v\u241f{key}", vault="v", key=key, name=name, aliases=aliases)


def expected_typo_match(text: str, concepts: list[ConceptRecord]) -> set[str]:
    """The concepts at the smallest distance within the budget, when they share one name; else none."""
    probe = spelling_key(text)
    budget = typo_budget(probe)
    best: dict[str, int] = {}
    for c in concepts:
        for spelling in (c.name, c.key, *c.aliases):
            k = spelling_key(spelling)
            if k and (d := osa_distance(probe, k)) <= budget:
                best[c.uid] = min(best.get(c.uid, d), d)
    if not best:
        return set()
    nearest = min(best.values())
    winners = [c for c in concepts if best.get(c.uid) == nearest]
    return {c.uid for c in winners} if len({c.name for c in winners}) == 1 else set()


# Few letters, so that names often lie within one or two edits of each other and of the probe.
name = st.text(alphabet="abcde 学习-", min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(names=st.lists(name, min_size=1, max_size=12), probe=name)
def test_typo_match_is_the_nearest_spelling_within_the_budget(names: list[str], probe: str) -> None:
    concepts = [record(i, n, (n[::-1],)) for i, n in enumerate(names)]
    table = SpellingTable.of(concepts)
    found = table.match(probe)
    if spelling_key(probe) in table.spellings:
        assert found.how == "alias"
        return
    expected = expected_typo_match(probe, concepts)
    if expected:
        assert found.how == "typo" and {c.uid for c in found.concepts} == expected
    else:
        assert found.how == "none" and found.concepts == ()


def test_suggestions_are_the_closest_spellings_first() -> None:
    concepts = [
        record(0, "Transformer"),
        record(1, "Transformer-XL"),
        record(2, "Transfusion"),
        record(3, "RLHF"),
    ]
    found = SpellingTable.of(concepts).match("Transfxxxxrmer", suggestions=3)
    assert found.concepts == ()
    assert found.suggestions[0] == "Transformer"
    assert "RLHF" not in found.suggestions
