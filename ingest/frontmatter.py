"""Front matter: YAML `---`, TOML `+++` (Hugo) and JSON, parsed with python-frontmatter's handlers.

`split_front_matter` never raises: broken front matter (Templater `{{date}}`, bad TOML, a YAML
list instead of a mapping) gives a problem message, the keys that still parse one by one, and the
body is still parsed. Plain YAML (`key: value`, flow and block lists of scalars — what Obsidian
writes) takes a fast path typed by PyYAML's own resolver; anything else goes through PyYAML.
Values are made JSON-safe (dates → ISO strings) so the graph exports and stores as is. Obsidian's
unquoted `up: [[X]]` (YAML reads it as the nested list `[['X']]`) is read back as `"[[X]]"` and
reported, since the user meant a link.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from sys import intern
from typing import Any

import yaml
from frontmatter.default_handlers import BaseHandler, JSONHandler, TOMLHandler, YAMLHandler

from ingest import patterns as P

# YAML anchors/aliases share one object among many places, so a few lines ("billion laughs") can
# stand for billions of values. Past this many values (counted as if expanded) a key is dropped.
MAX_EXPANDED_VALUES = 100_000

_YAML = YAMLHandler()
_TOML = TOMLHandler()
_JSON = JSONHandler()


@dataclass(frozen=True, slots=True)
class FrontMatterProblem:
    message: str
    line: int  # 1-based line in the note file


@dataclass(slots=True)
class FrontMatter:
    """The front matter of one note and where the body starts."""

    data: dict[str, object] = field(default_factory=dict)
    format: str | None = None  # "yaml" | "toml" | "json" | None (no front matter)
    raw: str = ""  # the front matter text between the delimiters
    end: int = 0  # offset in the note text where the body starts
    problems: list[FrontMatterProblem] = field(default_factory=list)  # one per issue found
    first_line: int = 2  # 1-based file line of the first front matter line
    _key_lines: dict[str, int] | None = None

    @property
    def key_lines(self) -> dict[str, int]:
        """Key -> 1-based line in the file where it is written (computed on first use)."""
        if self._key_lines is None:
            self._key_lines = _key_lines(self.raw, self.first_line)
        return self._key_lines

    def get(self, *keys: str) -> object:
        """The value of the first of `keys` present (case-insensitive) and not empty."""
        return get_first(self.data, *keys)


def _json_safe(value: Any) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    return str(value)


def _expanded_size(value: object, sizes: dict[int, int], limit: int) -> int:
    """How many values `value` holds once every alias is expanded, counting each shared object once
    per use but walking it only once (memo by identity), so an alias bomb costs its size in the
    source, not its expansion. Stops at `limit`; a recursive structure (`&a [*a]`) counts as `limit`."""
    if not isinstance(value, dict | list | tuple | set):
        return 1
    known = sizes.get(id(value))
    if known is not None:
        return known
    sizes[id(value)] = limit  # in progress: a cycle back here is "infinitely" large
    total = 1
    children = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for _, child in children:
        total += _expanded_size(child, sizes, limit)
        if total >= limit:
            total = limit
            break
    sizes[id(value)] = total
    return total


def _bounded_values(loaded: dict[Any, Any], result: FrontMatter) -> dict[Any, Any]:
    """`loaded` without the keys whose values, aliases expanded, would exceed MAX_EXPANDED_VALUES in
    all (each dropped key reported): converting or walking those would hang and exhaust memory."""
    sizes: dict[int, int] = {}
    budget = MAX_EXPANDED_VALUES
    kept: dict[Any, Any] = {}
    for key, value in loaded.items():
        size = _expanded_size(value, sizes, MAX_EXPANDED_VALUES + 1)
        if size > budget:
            result.problems.append(
                FrontMatterProblem(
                    f"front matter key {str(key)!r}: YAML aliases expand to more than {MAX_EXPANDED_VALUES} values "
                    "(an alias bomb, or a structure that contains itself); key dropped",
                    result.key_lines.get(str(key), result.first_line),
                )
            )
            continue
        budget -= size
        kept[key] = value
    return kept


def _unwrap_unquoted_links(key: str, value: object, result: FrontMatter) -> object:
    """`up: [[X]]` parses as `[['X']]` (and `[[X]], [[Y]]` as `[['X'], ['Y']]`): make them links."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, list) and len(v) == 1 and isinstance(v[0], str) for v in value)
    ):
        links = [f"[[{v[0]}]]" for v in value]
        result.problems.append(
            FrontMatterProblem(
                f"front matter key {key!r}: unquoted wiki link parsed as a nested list; read as {links}",
                result.key_lines.get(key, result.first_line),
            )
        )
        return links[0] if len(links) == 1 else links
    return value


def _key_lines(raw: str, first_line: int) -> dict[str, int]:
    lines: dict[str, int] = {}
    if not raw:
        return lines
    line = first_line
    pos = 0
    for match in P.FRONT_MATTER_KEY.finditer(raw):
        line += raw.count("\n", pos, match.start())
        pos = match.start()
        lines.setdefault(match.group(1).strip(), line)
    return lines


def split_front_matter(text: str) -> FrontMatter:
    """Find and parse the front matter at the top of `text` (BOM already removed)."""
    head = text[:3]
    handler: BaseHandler
    if head == "---":
        pattern, handler, fmt = P.YAML_FRONT_MATTER, _YAML, "yaml"
    elif head == "+++":
        pattern, handler, fmt = P.TOML_FRONT_MATTER, _TOML, "toml"
    elif head[:1] == "{":
        pattern, handler, fmt = P.JSON_FRONT_MATTER, _JSON, "json"
    else:
        return FrontMatter()
    match = pattern.match(text)
    if match is None:
        if fmt == "json":  # a note that starts with `{` is just text
            return FrontMatter()
        return FrontMatter(
            format=fmt, problems=[FrontMatterProblem(f"{fmt.upper()} front matter is not closed; read as body", 1)]
        )
    raw = match.group(1)
    first_line = 2 if fmt != "json" else 1
    result = FrontMatter(format=fmt, raw=raw, end=match.end(), first_line=first_line)
    loaded: object = _fast_yaml(raw) if fmt == "yaml" else None
    try:
        if loaded is None:
            loaded = handler.load(raw)
    except Exception as exc:  # yaml/toml/json each raise their own error types
        line = first_line + _error_line(exc)
        if fmt == "yaml":
            loaded, bad_keys = _salvage_yaml(raw)
            kept = f"; kept {len(loaded)} readable key(s), dropped {', '.join(bad_keys)}" if loaded else ""
        else:
            loaded, kept = None, ""
        result.problems.append(
            FrontMatterProblem(
                f"broken {fmt.upper()} front matter ({type(exc).__name__}: {_first_line(exc)}){kept}; body still read",
                line,
            )
        )
    if loaded is None:
        return result
    if not isinstance(loaded, dict):
        result.problems.append(
            FrontMatterProblem(f"{fmt.upper()} front matter is a {type(loaded).__name__}, not a mapping; ignored", 1)
        )
        return result
    if "*" in raw:  # aliases: only they can make the loaded values larger than the text
        loaded = _bounded_values(loaded, result)
    data: dict[str, object] = {}
    for key, value in loaded.items():
        name = intern(str(key))  # `title`, `tags`, … in every note, for as long as its graph lives
        data[name] = _json_safe(value if isinstance(value, str) else _unwrap_unquoted_links(name, value, result))
    result.data = data
    return result


_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
_YAML_SPECIAL_WHITESPACE = re.compile("[\t\r\x85\u2028\u2029]")


@lru_cache(maxsize=4096)  # keys (`title`, `tags`, …) repeat in every note
def _scalar_tag(text: str) -> str:
    """The tag PyYAML's implicit resolvers give a plain scalar (`yes` → bool, `2026-02-22` → timestamp)."""
    tag: str = _RESOLVER.resolve(yaml.nodes.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


@lru_cache(maxsize=16384)
def _fast_scalar(text: str, *, in_flow: bool = False) -> tuple[bool, object]:
    """(ok, value) for a quoted or plain scalar exactly as PyYAML's SafeLoader reads it."""
    if not text:
        return False, None
    quoted = P.FAST_YAML_DOUBLE_QUOTED.fullmatch(text) or P.FAST_YAML_SINGLE_QUOTED.fullmatch(text)
    if quoted:
        return True, quoted.group(1)
    if not P.FAST_YAML_PLAIN.fullmatch(text) or (in_flow and any(c in text for c in ",[]{}")):
        return False, None
    tag = _scalar_tag(text)
    if tag == _STR_TAG:
        return True, text
    construct = _CONSTRUCTOR.yaml_constructors.get(tag)
    if construct is None:
        return False, None
    try:
        return True, construct(_CONSTRUCTOR, yaml.nodes.ScalarNode(tag, text))
    except Exception:
        return False, None


def _fast_flow_list(text: str) -> tuple[bool, object]:
    inner = text[1:-1].strip()
    if not inner:
        return True, []
    items: list[object] = []
    pos = 0
    while pos < len(inner):
        match = P.FAST_YAML_FLOW_ITEM.match(inner, pos)
        if match is None or match.end() == pos:
            return False, None
        double, single, plain = match.groups()
        if double is not None or single is not None:
            items.append(double if double is not None else single)
        else:
            ok, value = _fast_scalar(plain.strip(), in_flow=True)
            if not ok:
                return False, None
            items.append(value)
        pos = match.end()
    if inner.rstrip().endswith(","):
        return False, None
    return True, items


def _fast_value(text: str) -> tuple[bool, object]:
    if text.startswith("[") and text.endswith("]"):
        return _fast_flow_list(text)
    return _fast_scalar(text)


def _fast_yaml(raw: str) -> dict[str, object] | None:
    """The plain subset of YAML front matter, read without PyYAML's composer and constructor
    (5-10x faster): `key: scalar`, `key: [a, "b"]`, `key:` + `- item` lines, comments, blank
    lines. Scalars are typed by PyYAML's own resolver and constructors, so the result equals
    `yaml.safe_load`; anything outside the subset returns None and goes to PyYAML."""
    if _NON_PRINTABLE.search(raw) or _YAML_SPECIAL_WHITESPACE.search(raw):
        return None  # refused by PyYAML, or a line break to it (NEL, U+2028) or a tab: let it decide
    data: dict[str, object] = {}
    current: str | None = None  # key whose block sequence is being read
    items: list[object] = []
    item_indent: str | None = None
    for line in raw.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if current is not None:
            item = P.FAST_YAML_ITEM.fullmatch(line)
            if item is not None and (item_indent is None or item.group(1) == item_indent):
                item_indent = item.group(1)
                ok, value = _fast_scalar(item.group(2))
                if not ok:
                    return None
                items.append(value)
                continue
            data[current] = items if items else None
            current, items, item_indent = None, [], None
        key_match = P.FAST_YAML_KEY.fullmatch(line)
        if key_match is None:
            return None
        key, value_text = key_match.group(1), key_match.group(2)
        if _scalar_tag(key) != _STR_TAG:
            return None  # `yes:`, `null:`: YAML keys that are not strings
        if not value_text:
            current = key
            continue
        ok, value = _fast_value(value_text)
        if not ok:
            return None
        data[key] = value
    if current is not None:
        data[current] = items if items else None
    return data or None  # nothing but comments: let PyYAML say what that is (None)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _error_line(exc: Exception) -> int:
    """0-based line of a YAML/TOML/JSON error inside the front matter, when the error says."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None and isinstance(getattr(mark, "line", None), int):
        return int(mark.line)
    lineno = getattr(exc, "lineno", None)
    return lineno - 1 if isinstance(lineno, int) and lineno > 0 else 0


def _salvage_yaml(raw: str) -> tuple[dict[str, object], list[str]]:
    """Parse a broken YAML mapping key by key (a top-level key and its indented lines), keeping
    every key that parses alone: `date: {{date}}` (Templater) must not cost the note its `title`."""
    blocks: list[list[str]] = []
    for line in raw.split("\n"):
        if blocks and (not line.strip() or line[:1] in (" ", "\t", "-") or line.lstrip().startswith("#")):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    data: dict[str, object] = {}
    bad: list[str] = []
    for block in blocks:
        text = "\n".join(block)
        if not text.strip():
            continue
        try:
            value = _YAML.load(text)
        except Exception:
            bad.append(repr(text.split(":", 1)[0].strip()))
            continue
        if isinstance(value, dict):
            data.update({str(k): v for k, v in value.items()})
        else:
            bad.append(repr(text.split(":", 1)[0].strip()))
    return data, bad


def string_list(value: object) -> list[str]:
    """A front matter value as a list of strings: `a`, `a, b`, `[a, b]`, nested lists flattened."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.split(",") if "," in value else [value]
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(string_list(item))
        return out
    if isinstance(value, bool | int | float):
        return [str(value)]
    return []


def tag_list(value: object) -> list[str]:
    """Front matter tags: a list, or a string separated by commas or spaces; `#` prefixes dropped."""
    tags: list[str] = []
    for item in string_list(value):
        tags.extend(part for part in item.split() if part)
    return tags


def get_first(data: dict[str, object], *keys: str) -> object:
    """The value of the first key present (matched case-insensitively) and not empty."""
    if not data:
        return None
    lowered: dict[str, object] | None = None
    for key in keys:
        value = data.get(key)
        if value is None:
            if lowered is None:
                lowered = {k.casefold(): v for k, v in data.items()} if any(k != k.casefold() for k in data) else data
            value = lowered.get(key)
        if value not in (None, "", []):
            return value
    return None


def clear_caches() -> None:
    """Empty the memos of the scalar functions above (see `ingest.concepts.clear_caches`)."""
    _scalar_tag.cache_clear()
    _fast_scalar.cache_clear()
