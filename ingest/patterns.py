"""Every regular expression the vault reader uses, compiled once and named.

Kept in one module (the obsidiantools way) so that the syntax kg understands can be read in one
place. Patterns that run over a whole note are written to start with a literal or an anchored
class, which lets `re` skip ahead quickly; nothing here is applied line by line in a Python loop.
"""

from __future__ import annotations

import re

# --- front matter -------------------------------------------------------------------------------
# YAML `---` (closed by `---` or `...`), Hugo TOML `+++`, JSON `{ ... }` at the very top.
YAML_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
TOML_FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\r?\n(.*?)(?:\r?\n)?^\+\+\+[ \t]*(?:\r?\n|\Z)", re.S | re.M)
JSON_FRONT_MATTER = re.compile(r"\A(\{[ \t]*\r?\n.*?^\})[ \t]*(?:\r?\n|\Z)", re.S | re.M)
# A front-matter key at the start of a line, to find the line a key sits on.
FRONT_MATTER_KEY = re.compile(r"^[ \t]*[\"']?([^\s:=\"'#][^:=\n\"']*?)[\"']?[ \t]*[:=]", re.M)

# --- regions whose content is not markdown (masked before links/tags are looked for) -------------
# Line-anchored patterns run over "\n" + text and start with that literal newline, which lets `re`
# jump from line to line instead of trying every character (much faster than `^` with re.M).
# Fenced code: an opening fence of 3+ backticks or tildes; closed by a fence of the same character
# at least as long (FENCE_CLOSE_BACKTICK / FENCE_CLOSE_TILDE), or by the end of the text.
FENCE_OPEN = re.compile(r"\n[ \t]{0,3}(`{3,}|~{3,})[^\n]*")
FENCE_CLOSE_BACKTICK = re.compile(r"\n[ \t]{0,3}(`{3,})[ \t]*(?=\n|\Z)")
FENCE_CLOSE_TILDE = re.compile(r"\n[ \t]{0,3}(~{3,})[ \t]*(?=\n|\Z)")
MATH_BLOCK = re.compile(r"\$\$.*?(?:\$\$|\Z)", re.S)
OBSIDIAN_COMMENT = re.compile(r"%%.*?(?:%%|\Z)", re.S)
HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
# Inline code on one line: a run of backticks, content, the same run (CommonMark code spans).
INLINE_CODE = re.compile(r"(`+)(?:[^`\n]|[^`\n][^\n]*?[^`\n])\1(?!`)")

# --- links -------------------------------------------------------------------------------------
# `[[target#heading|alias]]` and `![[embed]]`; the inner text may hold `\|` (inside tables).
WIKI_LINK = re.compile(r"(!?)\[\[([^\[\]\n]*?)\]\]")
# The same without the optional `!` in front, which keeps `re` from finding the literal `[[` fast
# (5x quicker over a note); the caller looks at the character before for the embed's `!`.
WIKI_LINK_BRACKETS = re.compile(r"\[\[([^\[\]\n]*)\]\]")
# A Hugo/TOML array-of-tables header such as `[[menu.main]]` alone on a line, followed by `key = value`.
TOML_TABLE_HEADER = re.compile(r"\n[ \t]*(\[\[)[A-Za-z0-9_.\-]+\]\][ \t]*\n[ \t]*[\"']?[A-Za-z0-9_.\-]+[\"']?[ \t]*=")
# `[text](target "title")`, `![alt](src)`; the target may hold one level of balanced parentheses.
MARKDOWN_LINK = re.compile(
    r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]"
    r"\(\s*(<[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
# Bare URLs in prose; trailing ASCII punctuation is trimmed in code.
BARE_URL = re.compile(r"https?://[^\s<>\"'`\[\]()（）【】「」，。；！？、]+")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
URL_TRAILING_PUNCT = re.compile(r"[.,;:!?*_~]+$")
IMAGE_EXTENSION = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|bmp|ico|tiff?|avif)(?:[?#].*)?$", re.I)

# --- tags ----------------------------------------------------------------------------------------
# `#tag`, `#a/b`: preceded by start, whitespace or opening punctuation; letters, digits, `_ - /`.
INLINE_TAG = re.compile(r"#([\w/\-]+)")
# What may stand right before a tag's `#` (besides whitespace and the start of the text).
TAG_OPENERS = frozenset("(（[【,，;；:：、")
ALL_DIGITS = re.compile(r"^[\d/\-_]+$")

# --- structure -----------------------------------------------------------------------------------
HEADING = re.compile(r"\n[ \t]{0,3}(#{1,6})[ \t]+([^\n]*?)(?:[ \t]+#+)?[ \t]*(?=\n|\Z)")
LIST_ITEM = re.compile(r"\n([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX/\-]\][ \t]+)?([^\n]*)")
TABLE_ROW = re.compile(r"\n[ \t]*(\|[^\n]*)")
TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
BLOCKQUOTE = re.compile(r"\n[ \t]{0,3}>")
# A line that is not indented and not blank ends a list (used on the text between two items).
UNINDENTED_LINE = re.compile(r"\n[^\s]")
TABLE_CELL_SPLIT = re.compile(r"(?<!\\)\|")

# --- names: cleaning a heading or list item down to a concept name --------------------------------
# Chapter / section numbering: `第一章`, `5.3`, `1.`, `A.`, `附录 A`, `Chapter 3`, `Part II`, `Step 1:`.
SECTION_NUMBER = re.compile(
    r"^(?:\d{4}[.\-/年]\d{1,2}[.\-/月]\d{1,2}日?|第[一二三四五六七八九十百零〇\d]+[章节部篇讲课]|附录\s*[A-Z\d]?(?=[\s:：.、]|$)|"
    r"(?:chapter|part|section|step|lesson|lecture|module)\s+[\dIVXivx]+\b|"
    r"(?:\d{1,3}\.)*\d{1,3}(?![\d.]*\d)(?:\.|、|\))?(?=\s|[^\w.]|[\u3000-\u9fff])|[A-Z](?:\.|、|\))(?=\s))"
    r"[\s:：.、)\-—]*",
    re.I,
)
# Emoji and decorations users put in headings and list items.
DECORATION = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe00-\ufe0f\u200b-\u200f\u2060\u2300-\u23ff\u25a0-\u25ff"
    "\u2700-\u27bf\u3030\u303d\u3297\u3299]+"
)
MARKDOWN_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|~~|==|<[^<>\n]+>")
# The description after a name: `Name — text`, `Name - text`, `Name: text`, `Name｜text`.
NAME_DESCRIPTION_SEPARATOR = re.compile(r"\s+[—–-]{1,2}\s+|\s*[—–]{1,2}\s*|[ \t]+[|｜][ \t]+|\s*→\s*")
NAME_HEAD_COLON = re.compile(r"\s*[:：]\s*")
# Enumerations: `A、B、C`, `A, B, C`, `A / B`, `A/B` (between names), `A与B`.
ENUMERATION_SEPARATOR = re.compile(r"\s*[、,]\s*|\s+/\s+|\s+&\s+")
# Clause separators: a tail cut by these is prose, not a list of names.
CLAUSE_SEPARATOR = re.compile(r"[，;；。]")
SLASH_BETWEEN_NAMES = re.compile(r"^([A-Za-z][\w.+\-]*)(?:/([A-Za-z][\w.+\-]*))+$")
CONJUNCTION = re.compile(r"\s*(?:与|和|及|以及|\band\b|\bvs\.?\b|\bversus\b)\s*", re.I)
# Trailing enumeration tails: `等`, `等变体`, `及其变体`, `及更多算法`, `等算法原理`.
ENUMERATION_TAIL = re.compile(r"\s*(?:等|及其|及更多|以及更多|and more|etc\.?)[\w\s]{0,8}[。.]?$", re.I)
# `基础架构与` after `核心原理` was cut off: the conjunction goes too.
TRAILING_CONJUNCTION = re.compile(r"\s*(?:与|和|及|以及|&|\band)$")
TRAILING_PUNCT = re.compile(r"[\s。.,，;；:：!！、|｜\-—–~\u2190-\u21ff]+$")
LEADING_PUNCT = re.compile(r"^[\s。.,，;；:：!！、|｜\-—–~>\u2190-\u21ff]+")
RATING = re.compile(r"[★☆⭐]+")
# A trailing parenthetical: `Name（ABBR）`, `Name (Full Name)`, `Name（comment）`.
TRAILING_PAREN = re.compile(r"^(.*?\S)\s*[（(]\s*([^()（）]+?)\s*[）)]$")
# …and with a short generic word after it: `长思维链（Long Chain-of-Thought, CoT）概念`.
PAREN_THEN_WORD = re.compile(
    r"^(.*?\S)\s*([（(]\s*[^()（）]+?\s*[）)])\s*(概念|简介|介绍|概述|原理|方法|算法|模型|机制|技术)$"
)
# `群体相对策略优化 GRPO`: CJK full name, a space, an upper-case abbreviation.
CJK_THEN_ABBREVIATION = re.compile(r"^([\u3400-\u9fff][\u3400-\u9fff\w]*?)\s+([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9+]*)$")
ABBREVIATION = re.compile(r"^(?=(?:[^A-Z]*[A-Z]){2})[A-Za-z][A-Za-z0-9+\-.]{0,11}$")
ASCII_WORDS = re.compile(r"^[A-Za-z][A-Za-z0-9 \-+.'’]*$")
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_ONLY = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\s]+$")
WORD_INITIALS = re.compile(r"[A-Za-z0-9]+")
QUESTION = re.compile(r"^(?:什么是|何为|为什么|为何|如何|怎么|怎样|what\s+is|what\s+are|why|how)\s*", re.I)
QUESTION_MARK = re.compile(r"[?？]\s*$")
YEAR_SUFFIX = re.compile(r"[\s\-_]*(?:19|20)\d\d(?:[\-_.]\d\d?){0,2}$")
# A file stem that is an id, not a name: hashes, dates, numbered ids, arXiv numbers.
ID_LIKE_STEM = re.compile(
    r"^(?:\d+[_\-])?[0-9a-f]{8,}$|^\d{4}\.\d{4,5}(?:v\d+)?$|^\d+$|^\d{4}-\d{2}-\d{2}$|"
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    re.I,
)
# Folder names like `3-LLM`, `01_Basic_Architecture`: drop the ordering prefix.
ORDER_PREFIX = re.compile(r"^\d+[\s._\-]+")

# --- keys ----------------------------------------------------------------------------------------
# Separators ignored by concept keys: whitespace, hyphens and dashes, underscores, middle dots.
KEY_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—―·・•]+|(?<!\d)\.|\.(?!\d)")

# --- words (reading-time estimates) ----------------------------------------------------------------
LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")

# --- concept names in prose (after the vocabulary is known) ----------------------------------------
# Latin tokens that could be concept names: contain an upper-case letter or a digit after a letter.
# Tokens with at least two capitals (GRPO, MoE, LoRA, FlashAttention; `veRL`, `vLLM` once their
# lower-case head is taken back in code). Plain capitalised words (The, Figure) are not looked up:
# they are most of an English text and almost never a concept on their own.
PROSE_NAME_TOKEN = re.compile(r"[A-Z][a-z0-9]{0,12}[A-Z][A-Za-z0-9]*(?:[\-+.][A-Za-z0-9]+)*\+*")
# `veRL`, `vLLM`, `iGPT`: a short lower-case head, then a tail PROSE_NAME_TOKEN finds (group 1).
LOWER_HEAD_NAME = re.compile(r"[a-z][a-z0-9]{0,5}([A-Z][a-z0-9]{0,12}[A-Z][A-Za-z0-9]*)")

# --- note statistics and description --------------------------------------------------------------
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
NON_BLANK_LINE = re.compile(r"\n[ \t]*[^\s]")
# The first line of prose: not a heading, list item, table, quote, rule, image, link-only or HTML line.
FIRST_PROSE_LINE = re.compile(r"^(?![ \t]*(?:[#>|*+\-=_<!\[{]|\d+[.)]|\$\$))[ \t]*\S[^\n]{8,}$", re.M)

# --- a fast path for the plain YAML front matter most notes have --------------------------------------
# `key: value`, `key: [a, "b"]`, `key:` followed by `- item` lines; anything else goes to PyYAML.
FAST_YAML_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*")
FAST_YAML_ITEM = re.compile(r"([ \t]*)-[ \t]+(.*?)[ \t]*")
FAST_YAML_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"')
FAST_YAML_SINGLE_QUOTED = re.compile(r"'([^']*)'")
# A plain scalar PyYAML reads as one string-or-typed value: no indicator first, no `: ` or ` #`.
FAST_YAML_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`](?:(?!:\s|\s#)[^\r\n\t])*(?<![:\s])")
FAST_YAML_FLOW_ITEM = re.compile(r"[ \t]*(?:\"([^\"\\]*)\"|'([^']*)'|([^,\[\]{}'\"#]+?))[ \t]*(?:,|$)")

# Setext headings: a paragraph line underlined with `===` (level 1) or `---` (level 2).
SETEXT_HEADING = re.compile(r"\n([^\n]+)\n[ \t]{0,3}(=+|-+)[ \t]*(?=\n|\Z)")
# The underline alone: a note without one has no setext heading (most notes; lists make the
# line-pair scan above costly for nothing).
SETEXT_UNDERLINE = re.compile(r"\n[ \t]{0,3}(?:=+|-+)[ \t]*(?=\n|\Z)")
# Lines that cannot be the text of a setext heading (lists, quotes, tables, ATX headings, HTML, blanks).
NOT_SETEXT_TEXT = re.compile(r"^(?:[ \t]{4,}|[ \t]*(?:$|[-*+>|#<]|\d{1,9}[.)][ \t]|```|~~~))")
