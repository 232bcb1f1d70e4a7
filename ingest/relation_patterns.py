"""Regexes of the typed-relation rules (`ingest.relations`), in one place.

They live beside `ingest.patterns` (which another module owns and is being tuned) rather than in it.
All of them run on a *line view*: one line of the masked note body (code blanked) with each link
replaced by the text a reader sees, so `支持 [[GRPO|群体相对策略优化]]` reads `支持 群体相对策略优化`
and the link's concept is known from its span.
"""

from __future__ import annotations

import re

# --- explicit: keys written by the user -------------------------------------------------------------
# Dataview inline field filling the line: `key:: value` (optionally in a list item or a quote).
DATAVIEW_LINE_FIELD = re.compile(
    r"^[ \t]*(?:>[ \t]*)*(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+)?([^\s:\[\]()`][^:\[\]()`]{0,60}?)::[ \t]*(.*)$"
)
# Dataview bracketed inline fields anywhere on a line: `[key:: value]`, `(key:: value)`.
DATAVIEW_BRACKET_FIELD = re.compile(
    r"\[([^\[\]():]{1,60}?)::[ \t]*((?:[^\[\]]|\[\[[^\]]*\]\])*)\]|\(([^\[\]():]{1,60}?)::[ \t]*((?:[^()]|\[\[[^\]]*\]\])*)\)"  # noqa: E501
)
# A typed list item: `- prerequisite [[PPO]], [[TRPO|x]]`, `- depends-on [[X]]`, `* based on: [[X]]`.
TYPED_LIST_ITEM = re.compile(
    r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?([A-Za-z\u3400-\u9fff][\w\-]*(?:[ \t][A-Za-z][\w\-]*)?)[ \t]*:?[ \t]+(?=\[\[)"  # noqa: E501
)

# --- line shape --------------------------------------------------------------------------------------
# What may open a line before its content: quote markers, list markers, task boxes, arrows, emoji.
LINE_LEAD = re.compile(
    r"^[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(?:\[[ xX/\-]\][ \t]+)?"
    r"(?:[\u2190-\u21ff\u2b05-\u2b07\u27a1\U0001f000-\U0001faff\u2600-\u27bf\ufe0f*_#]+[ \t]*)*"
)
ORDERED_LIST_MARKER = re.compile(r"^[ \t]*\d{1,9}[.)][ \t]+")
# `label：` at the start of a line's content (after LINE_LEAD); not a Dataview `::`.
LINE_LABEL = re.compile(
    r"([\w\u3400-\u9fff][\w\u3400-\u9fff \-]{0,24}?)[ \t]*(?:\*\*)?[ \t]*[:：](?![:：])[ \t]*(?:\*\*)?[ \t]*"
)
# What may follow a label's list of names: nothing, `等…`, `etc.`, `and more`, or the end of a clause.
LIST_REST = re.compile(r"^(?:等|及更多|以及更多|etc\b|and more\b|[。；;，,.])", re.I)
# Emphasis markers dropped from the line view.
EMPHASIS = re.compile(r"\*\*|__|~~|==")
BARE_URL = re.compile(r"https?://[^\s<>\"'，。；）)\]]+|www\.[^\s<>\"'，。；）)\]]+")

# --- names in a line view ---------------------------------------------------------------------------
# A Latin-script name token: GRPO, veRL, Qwen2.5-VL, REINFORCE++, Dr.GRPO, Llama.cpp.
LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[\-.+][A-Za-z0-9]+)*\+*")  # `A/B` is two names
# A CamelCase token names something (RadixAttention, DeepSpeed, vLLM) even when nobody linked it yet.
CAMEL_CASE_NAME = re.compile(r"^(?=.{3,24}$)[A-Za-z][A-Za-z0-9+\-.]*[a-z][A-Z][A-Za-z0-9+\-.]*$")
# A capitalised word that may name a new concept where the layout says it is a name (heading arrows).
CAPITALISED_NAME = re.compile(r"^[A-Z][A-Za-z0-9+\-.]{2,23}$")
# Words skipped before an object: `支持了`, `支持多种`, `based on the`, `supports both`.
OBJECT_FILLER = re.compile(
    r"(?:[ \t]+|了|的|对|对于|多种|各种|主流的?|常见的?|经典的?|火山引擎|字节跳动|开源的?|"
    r"(?:the|a|an|both|its|their|several|many|all|popular)\b)+",
    re.I,
)
# Between two names of a list: `、`, `,`, `/`, `+`, `&`, `和`, `与`, `及`, `以及`, `或`, `and`, `or`.
NAME_LIST_SEPARATOR = re.compile(
    r"[ \t]*(?:、|,|/|／|\+|＋|&|以及|和|与|及|或|\band\b|\bor\b|\bas well as\b)[ \t]*", re.I
)
# An optional parenthetical right after a name (an alias or a remark): `（GRPO）`, `(Proximal …)`.
TRAILING_PARENTHETICAL = re.compile(r"[ \t]*(?:（[^（）\n]{0,60}）|\([^()\n]{0,60}\))")
# Words that end a clause subject without being part of it: `EasyR1 是`, `veRL also`, `它目前`.
SUBJECT_TAIL = re.compile(
    r"(?:[ \t]|是|也|还|都|则|就|已|已经|主要|目前|同时|均|可以|能够|可|直接|原生|完整|通常|一般|往往|大多|"
    r"\b(?:is|are|was|were|also|now|natively|fully|which|that|itself|directly|usually|typically|often|mostly)\b)+$",
    re.I,
)
# Subjects that are pronouns: both of the note's concepts, the note's own concept, the section's concept.
BOTH_PRONOUN = re.compile(r"^(?:两者|二者|它们|这两者|这两个|两个|both|they|both of them)$", re.I)
SELF_PRONOUN = re.compile(
    r"^(?:我们|本文|本工作|本方法|我们的(?:模型|方法|系统)|we|our[ \t]+(?:model|method|approach|system|framework)|"
    r"this[ \t]+(?:paper|work|model|method))$",
    re.I,
)
SECTION_PRONOUN = re.compile(
    r"^(?:它|其|该框架|该库|该项目|该工具|这个库|这个框架|这个工具|这个项目|it|this[ \t]+(?:framework|library|tool|project))$",  # noqa: E501
    re.I,
)
# A clause about "this note / this section" (`读这篇之前`, `学习本节前`, `before reading this note`).
THIS_TEXT = re.compile(
    r"这篇|本篇|本节|本章|这一节|这一章|本文|\bthis[ \t]+(?:note|section|chapter|page|article)\b", re.I
)
# All-capital English words used as section headings (BASELINES, RESULTS): not names.
ALL_CAPS_WORD = re.compile(r"^[A-Z]{7,}S?$")
# Where a sentence starts (a clause with no subject of its own inherits the sentence's `X 是 …`).
SENTENCE_BREAK = re.compile(r"[。；;！？!?]|\.[ \t]")
# After a sentence's first name: `是`, `为`, `is`, `are` (optionally after a citation `[30]`).
SUBJECT_VERB = re.compile(r"[ \t]*(?:\[[\d,，\- ]{1,12}\][ \t]*)?(?:是|为|\bis\b|\bare\b)")
# `基于 X 的 <kind>`: the line defines its subject as a kind of thing built on X.
BASED_ON_KIND = re.compile(
    r"[ \t]*的[^，。；,;\n]{0,12}?(?:框架|库|工具|模型|方法|算法|系统|实现|版本|分支|项目|平台|引擎|fork|framework|library|model)",  # noqa: E501
    re.I,
)
# What may close a `基于 X 的<kind>` phrase that stands alone: a date, a link's leftovers, then the clause's end.
KIND_PHRASE_END = re.compile(r"[ \t\d.\-/:：()（）]*(?:$|[，。；,;！!？?|—–])")
# Where a clause starts: after a sentence/clause break or a colon.
CLAUSE_BREAK = re.compile(r"[，。；;！？!?：:]|,[ \t]|\.[ \t]")
# Characters that may stand right before/after a name that an arrow joins.
NAME_BOUNDARY = "（(、,，:：/ \t[「『\"'“‘"

# --- which lines to read closely -----------------------------------------------------------------
# Any word a cue starts with (a line without one cannot hold a cue, labels aside). Chinese and
# arrows by regex; English words by plain substring search on the lower-cased text (much faster on
# long English papers than an alternation of `\b` words).
CUE_TRIGGER = re.compile(
    r"支持|实现|基于|变体|变种|改进|分支|比[^，。\n]{1,30}更|建立在|基础|前置|前提|需要先|先(?:了解|掌握|学习|学会|熟悉)|"
    r"从|顺序|依次|→|⟶|⇒|➔|➡|->|=>"
)
CUE_WORDS = (
    "based", "fork", "extends", "derived", "built", "build", "variant", "variation", "extension", "improve",
    "implement", "support", "requires", "assumes", "needs", "from", "order",
)  # fmt: skip
# A line that opens with `label:` (run over "\n" + text; group 1 is the label).
LABEL_CANDIDATE = re.compile(
    r"\n[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(?:[^\w\s]{1,4}[ \t]*)?(?:\*\*)?"
    r"([\w\u3400-\u9fff][\w\u3400-\u9fff \-]{0,24}?)(?:\*\*)?[ \t]*[:：](?![:：])"
)
# Every LABEL_CANDIDATE match holds one of these on its line: only such lines are tried.
LABEL_COLON = re.compile(r"[:：]")

# --- cue phrases ------------------------------------------------------------------------------------
# prerequisite: `S builds on X`, `以 X 为基础`, `建立在 X 之上`, `需要先了解 X`, `assumes familiarity with X`.
BUILDS_ON_OBJECT_AFTER = re.compile(
    r"\b(?:builds?|built|building)[ \t]+(?:up)?on(?:[ \t]+top[ \t]+of)?\b|"
    r"\b(?:requires|assumes|needs)[ \t]+(?:(?:some|basic|an?|prior)[ \t]+)?"
    r"(?:understanding|knowledge|familiarity|background)[ \t]+(?:of|with|in)\b|"
    r"需要先(?:了解|掌握|学习|理解|学会|熟悉|看|读)(?:一下|好)?|先(?:了解|掌握|学习|学会|熟悉)(?:一下|好)?|"
    r"建立在|以(?=[^，。；\n]{1,30}为基础)",
    re.I,
)
# `Building on X, Y …` / `Built on X, Y …`: a participle opening the clause; its subject follows the comma.
BUILDS_ON_PARTICIPLE = re.compile(r"(?:building|built)\b", re.I)
UP_TO_COMMA = re.compile(r"[^,，\n]{0,40}?[,，][ \t]*")
# `X 是 S 的基础/前置/前提`: X before S (`成为` is one verb, not `成` + `为`).
BASIS_OF = re.compile(
    r"(?:成为|是|(?<!成)为|构成)[ \t]*(?P<rest>[^，。；;！？!?\n]{1,40}?)[ \t]*"
    r"的(?:前置知识|前置|基础|前提)(?!知识[:：])"
)
# Every BASIS_OF match holds one of these: other lines skip its scan (it tries every 是/为).
BASIS_OF_WORD = re.compile("的(?:前置|基础|前提)")
# from-to: `从 A、B 到 C`, `from A to C`, chained by `再到` / `then to`.
FROM_CUE = re.compile(r"从|\bfrom\b", re.I)
TO_CUE = re.compile(
    r"[ \t]*(?:(?:一路|再)?(?:过渡|演进|发展|走|讲|学|写|聊|介绍|延伸|扩展)?到|至|\bto\b|\bthrough\b)[ \t]*", re.I
)
THEN_TO_CUE = re.compile(
    r"[ \t]*(?:，|,)?[ \t]*(?:再到|然后到|最后到|\bthen[ \t]+to\b|\band[ \t]+then[ \t]+to\b)[ \t]*", re.I
)
# `从 FFN 到 LN 的输入`, `从 zero-shot 到 few-shot 的更大增益`: a flow or a gain between two things, not an order.
FROM_TO_FLOW = re.compile(
    r"[ \t]*的[^，。；,;\n]{0,6}?(?:输入|输出|增益|收益|提升|差距|映射|转换|变化|迁移|梯度|信息流|数据流)"
)
# `从 CNN 到 Transformer 均依赖此机制`: a range ("all of them, from A to B"), not an order.
FROM_TO_RANGE = re.compile(r"[ \t]*(?:均|都|全都|皆|一律|无一|\balike\b)", re.I)
# arrows between names (headings and list items).
ARROW = re.compile(r"→|⟶|⇒|➔|➡️?|->|=>")  # no surrounding `[ \t]*`: finditer would go quadratic on indentation
# Text after an arrow that makes it navigation: `→ 另见 [[…]]`, `→ 详见`, `→ see`.
ARROW_NAVIGATION = re.compile(r"[ \t]*(?:另见|详见|参见|见|更多|see\b|more\b|details?\b)", re.I)
# `按顺序：A、B、C`, `依次`, `in order: A, B`.
IN_ORDER_CUE = re.compile(
    r"(?:按(?:学习)?顺序(?:学习|阅读|排列)?|依次(?:是|为|学习|阅读)?|学习顺序(?:是|为)?|"
    r"\bin (?:this|the following) order\b|\bin order\b)[ \t]*[:：,，]?[ \t]*",
    re.I,
)
# implements: `支持 X`, `supports X` (not `支持向量机`, not negated).
SUPPORTS_CUE = re.compile(
    r"(?<![不未没])支持(?!向量|度|者|率)(?:了)?|(?<!not )(?<!n't )\bsupports?\b(?![ \t]+(?:for|vector))", re.I
)
# `支持多种方法，如 A、B` / `supports several methods such as A, B`: the list after `如` is the object.
SUCH_AS = re.compile(
    r"[^，。；;\n]{0,16}?(?:[，,][ \t]*)?(?:例如|比如|如|包括|包含|such[ \t]+as|including|e\.g\.,?)[ \t]*[:：]?[ \t]*",
    re.I,
)
# General-purpose platforms: languages, deep-learning frameworks, runtimes, export formats, hardware.
# "Implemented in PyTorch" or a detector that "supports ONNX, TensorRT" does not make them implementations
# of an algorithm: the code runs on them.
PLATFORM_NAME = re.compile(
    r"^(?:python|c\+\+|cuda|rocm|triton|pytorch|torch|tensorflow|tf|jax|keras|mxnet|paddle(?:paddle)?|numpy|"
    r"onnx(?:[ \t-]?runtime)?|tensorrt|ncnn|openvino|core[ \t]?ml|tflite|tensorflow[ \t]lite|mnn|tvm|"
    r"cpu|gpu|tpu|npu|android|ios|linux|windows|macos)s?$",
    re.I,
)
# Tasks and abilities (`支持实例分割`, `支持长度外推`, `supports zero-shot detection`): what a model or a
# dataset is good for, not an algorithm a tool implements.
TASK_NAME = re.compile(
    r"(?:分割|检测|分类|识别|外推|翻译|问答|跟踪)$|\b(?:segmentation|detection|classification|recognition|"
    r"extrapolation|translation|answering|tracking)$",
    re.I,
)
# A Latin name followed by a lower-case word: `supports zero-shot data editing`, `based on the RPN
# proposals`: the name only qualifies the real object (the Latin twin of `支持 X 的 …`) …
NEXT_LOWER_WORD = re.compile(r"[ \t]+([a-z][a-z\-]*)")
# … unless the word is a function word or a head that keeps the name the object (`supports PPO training`,
# `based on the Transformer architecture`).
NOT_QUALIFYING_WORDS = frozenset(
    (
        "and", "or", "as", "in", "on", "with", "for", "via", "through", "by", "to", "from", "at", "out", "of",
        "natively", "also", "too", "well", "which", "that", "but", "while", "since", "because", "etc", "is", "are",
        "was", "were", "has", "have", "training", "fine-tuning", "finetuning", "algorithm", "algorithms", "method",
        "methods", "architecture", "architectures", "framework", "frameworks", "model", "models", "backbone",
        "backbones", "codebase", "library", "implementation", "style", "family", "series", "paper", "loss",
        "objective", "recipe", "pipeline",
    )
)  # fmt: skip
# `SSD 中使用的 OHEM`, `X 里的`: a Chinese name followed by where-phrases and `的` qualifies the real object.
FOLLOWED_BY_DE = re.compile(r"[ \t]*(?:(?:中|里|内|之中|上)[ \t]*(?:使用|采用|用到|提出|引入)?[ \t]*)?的")
IMPLEMENTS_CUE = re.compile(
    r"实现了|\bimplements\b|\bis[ \t]+(?:an?|the)[ \t]+(?:[\w\-]+[ \t]+){0,2}implementation[ \t]+of\b", re.I
)
# `X 的开源实现在 T 中`, `implemented in T`: T implements the subject.
IMPLEMENTED_IN_CUE = re.compile(
    r"(?:开源|官方|参考)?实现(?:在|见于?|位于|可见于)|\bimplemented[ \t]+(?:in|by)\b|\bimplementations?[ \t]+in\b",
    re.I,
)
# CJK ideographs only (U+3400-U+9FFF): concept_key leaves such a name unchanged (no width, case,
# separator or decoration to fold; the compatibility ideographs U+F900- are left out, NFKC maps them).
CJK_IDEOGRAPHS = re.compile(r"[\u3400-\u9fff]+")
# What every match of the two patterns above holds: a line without them skips those (slow, re.I) scans.
IMPLEMENT_WORD = re.compile("implement", re.I)
IMPLEMENTED_IN_ZH = re.compile("实现(?:在|见|位于|可见于)")
# based-on / variant: `基于 X`, `based on X`, `a fork of X`, `forked from X`, `extends X`, `derived from X`.
BASED_ON_CUE = re.compile(
    r"基于|\bbased[ \t]+(?:up)?on\b|\b(?:a|the)[ \t]+fork[ \t]+of\b|\bforked[ \t]+from\b|\bextends\b|"
    r"\bderived[ \t]+from\b|\bbuilt[ \t]+(?:on[ \t]+top[ \t]+of)\b",
    re.I,
)
# What may follow the base of `基于 X`: the end of the clause, `的`, a kind (`框架`, `架构`), a verb of
# building (`开发`, `改进`), or more of a Latin name. Anything else (`基于 LLM 自动生成`, `基于深度监督损失为…`,
# `基于自动驾驶需求制定`) uses X or names a larger object: not "S is a variant of X".
BASED_ON_FOLLOW = re.compile(
    r"[ \t]*(?:$|[，。；,.;:：）)、!！?？|]|的|框架|架构|模型|库|代码|版本|仓库|项目|开发|构建|设计|搭建|"
    r"改进|修改|改造|扩展|衍生|实现|训练|微调|预训练|而来|而成|之上|[A-Za-z0-9])"
)
# `S 是 X 的变体 / 一种变体 / 改进版`; English `S is a variant of X`.
VARIANT_OF_ZH = re.compile(
    r"(?:是|为|属于|都是|均为|算是)[ \t]*(?P<base>[^，。；;！？!?\n]{1,40}?)[ \t]*的[ \t]*(?:一种|一个|一类|一款)?[ \t]*"  # noqa: E501
    r"(?:(?:精简|轻量|简化|改进|高效|魔改|开源)(?:版)?[ \t]*(?:的)?[ \t]*)*"
    r"(?:变体|变种|改进版本?|衍生版本?|分支|fork)(?![ \t]*[:：])",
    re.I,
)
VARIANT_OF_EN = re.compile(
    r"\b(?:is|are)[ \t]+(?:an?[ \t]+|the[ \t]+)?(?:[\w\-]+[ \t]+)?(?:variants?|variations?|extensions?|"
    r"improved[ \t]+versions?)[ \t]+of\b",
    re.I,
)
# `X 的变体：A、B`, `变体有：…`, `Common variants of X: A, B`, `X variants: A, B`.
VARIANTS_LABEL_ZH = re.compile(r"(?:常见|主要|其他|一些|几种|各种)?变体(?:有|包括|如)?[ \t]*[:：][ \t]*")
VARIANTS_LABEL_EN = re.compile(
    r"\b(?:variants|variations)[ \t]+of[ \t]+(?P<base>[^:：\n]{1,40}?)[ \t]*(?:include|are|[:：])[ \t]*|"
    r"\b(?P<base2>[A-Za-z][\w\-+.]{0,30})[ \t]+(?:variants|variations)[ \t]*(?:include|are|[:：])[ \t]*",
    re.I,
)
# `A、B 等变体`, `A and other variants`: the listed names are variants of the section's concept.
VARIANTS_TAIL = re.compile(r"等(?:[\w\u3400-\u9fff]{0,4})?变体|\band other variants\b", re.I)
# `比 X 更…的 Y`; `Y improves on X`, `an improved X`.
BETTER_THAN_ZH = re.compile(r"比[ \t]*")
BETTER_THAN_MIDDLE = re.compile(r"[ \t]*更[^，。；,;：:\n]{0,16}?的[ \t]*")
IMPROVES_ON_CUE = re.compile(
    r"\bimproves?[ \t]+(?:up)?on\b|\b(?:is[ \t]+)?an?[ \t]+improved[ \t]+(?:version[ \t]+of[ \t]+)?", re.I
)
NEGATION_BEFORE = re.compile(r"(?:不|未|没有|尚未|无法|not|n't|never|no)[ \t]*$", re.I)

# --- structure ---------------------------------------------------------------------------------------
# A note that presents a learning order (title, type, first lines).
ROADMAP_CUE = re.compile(
    r"学习路线|路线图|学习路径|学习顺序|按顺序|循序渐进|roadmap|learning[ \t]+path|study[ \t]+path|syllabus|curriculum|"
    r"in[ \t]+learning[ \t]+order",
    re.I,
)
# A numbered section heading: `第一章`, `1.`, `1.2`, `Chapter 3`, `Part II`.
NUMBERED_HEADING = re.compile(
    r"^(?:第[一二三四五六七八九十百零〇\d]+[章节部篇讲课]|(?:chapter|part|lesson|lecture|module|step)[ \t]+[\dIVXivx]+\b|"  # noqa: E501
    r"\d{1,3}(?:\.\d{1,3})*\.?(?=[ \t]|[^\d.\w]|[\u3400-\u9fff]))",
    re.I,
)
APPENDIX_HEADING = re.compile(r"^(?:附录|appendix\b|appendices\b)", re.I)
# A heading that introduces variants: `X 及其变体`, `X 变体`, `Variants of X`, `X Variants`.
VARIANTS_HEADING = re.compile(
    r"^(?P<base>.+?)[ \t]*(?:及其|和|与|的)?[ \t]*(?:各种|主要|常见|其他)?(?:变体|变种)(?:[ \t]*[（(][^（）()]*[）)])?$|"  # noqa: E501
    r"^(?:variants|variations)[ \t]+of[ \t]+(?P<base2>.+)$|^(?P<base3>.+?)[ \t]+(?:variants|variations|family)$",
    re.I,
)
# A base that names no concept of its own (`## 关键变体`, `### Architecture Variants`, `## 主要变体`): the
# variants are of the section's (or the note's) concept.
GENERIC_VARIANT_BASE = re.compile(
    r"^(?:关键|主要|常见|其他|其它|重要|典型|经典|核心|代表性?的?|一些|几种|各种|key|main|common|other|notable|major|"
    r"popular|architecture|architectures|model|models|network|networks|模型|架构|网络|结构|[ \t])*$",
    re.I,
)
# The English word of a bilingual heading (`Architecture Variants 架构变体`): the base is what comes before it.
VARIANTS_WORD = re.compile(r"\b(?:variants|variations)\b", re.I)
# A bold label that opens a list item (`- **文档**: …`, `- **视觉版**：…`): an aspect of the section, not a variant.
BOLD_LABEL_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\*\*|__)[^*_\n]{1,40}(?:\*\*|__)[ \t]*[:：]")
# A table column header that names tools.
TOOL_COLUMN = re.compile(
    r"^(?:框架|引擎|推理引擎|工具|库|项目|系统|平台|实现|开源实现|framework|engine|tool|library|lib|project|system|implementation)s?$",
    re.I,
)

# --- names --------------------------------------------------------------------------------------------
# Splitting a concept name into a base and a modifier (`Dr-GRPO`, `GRPO-Zero`, `Flash Attention`).
NAME_PART_SEPARATOR = re.compile(r"[ \t]+|(?<=[A-Za-z0-9.])-(?=[A-Za-z0-9\u3400-\u9fff])|_")
ASCII_MODIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9.+]{0,9}$|^[vV]?\d{1,3}(?:\.\d)?$")
# Modifiers that are ids, not qualities: `lc2`, `ch3`, `p1` (lessons, chapters, parts).
ID_MODIFIER = re.compile(r"^[a-z]{1,3}\d+$")
