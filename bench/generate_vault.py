"""Deterministic synthetic vaults for kg's benchmarks: N study notes shaped like the seeds.

    python -m bench.generate_vault 10000 --seed 7 --out /tmp/kg-bench/v10000

What a vault holds (all of it decided by `random.Random(seed)`, so a size and a seed always give
byte-identical files):
- notes in `domain/topic/` folders; each topic is a *cluster* of ~40 notes with one MOC note
  (`type: moc`, an ordered list of the cluster's notes) and a vault-wide `00-Foundations/` cluster;
- YAML front matter (title, aliases, tags as list or string, type, domain, updated, `up`, and typed
  keys `prerequisites`/`variant_of`/`implements`), ~3% Hugo TOML `+++` front matter, ~3% none;
- Chinese and English prose (~2-4 KB a note), headings, nested lists, tables, blockquotes, code;
- wiki links in every form (`[[N]]`, `[[path/N|alias]]`, `[[N#H]]`, `[[#H]]`, `[[N#^block]]`,
  `![[embed]]`, `[[N\\|alias]]` in tables, dangling `[[Future …]]`), markdown links (relative
  `../x/N.md`, folders), URLs, front matter / inline / nested tags, and ~10 links a note;
- typed relations: front matter keys, Dataview `prerequisite:: [[X]]`, typed list items, and zh/en
  cue phrases (`前置知识：`, `基于`, `builds on`, `支持`, `及其变体`, `implementation of`);
- a few notes with a BOM, CRLF line ends, or GB18030 encoding.
Prerequisites point to earlier notes of the same cluster or to the foundations, so a learning path
has a realistic closure (tens of concepts), not the whole vault.
`.bench-manifest.json` (hidden, so kg skips it) lists the notes and good `learningPath` targets.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".bench-manifest.json"
CLUSTER_SIZE = 40
FOUNDATION_SIZE = 30

DOMAINS: tuple[tuple[str, str], ...] = (
    ("01-Architecture", "架构"),
    ("02-Training", "训练"),
    ("03-Inference", "推理"),
    ("04-RL", "强化学习"),
    ("05-Alignment", "对齐"),
    ("06-RAG", "检索增强"),
    ("07-Multimodal", "多模态"),
    ("08-Systems", "系统"),
    ("09-Evaluation", "评测"),
    ("10-Agents", "智能体"),
)
EN_HEAD = (
    "Sparse", "Gated", "Linear", "Rotary", "Grouped", "Low-Rank", "Contrastive", "Hierarchical", "Adaptive",
    "Residual", "Causal", "Masked", "Distilled", "Quantized", "Flash", "Paged", "Speculative", "Direct",
    "Proximal", "Relative", "Multi-Query", "Cross", "Latent", "Diffusion", "Retrieval", "Reward", "Policy",
    "Value", "Token", "Streaming", "Chunked", "Dynamic", "Recurrent", "Structured", "Curriculum",
)  # fmt: skip
EN_TAIL = (
    "Attention", "Decoding", "Optimization", "Embedding", "Normalization", "Routing", "Sampling", "Alignment",
    "Tuning", "Caching", "Pretraining", "Encoding", "Search", "Distillation", "Pruning", "Scheduling",
    "Estimation", "Regularization", "Tokenization", "Parallelism", "Memory", "Planning", "Reranking",
)  # fmt: skip
ZH_HEAD = (
    "稀疏", "门控", "线性", "旋转", "分组", "低秩", "对比", "层次", "自适应", "残差", "因果", "掩码", "蒸馏",
    "量化", "分页", "投机", "近端", "相对", "交叉", "潜在", "扩散", "奖励", "策略", "价值", "流式", "动态",
)  # fmt: skip
ZH_TAIL = (
    "注意力", "解码", "优化", "嵌入", "归一化", "路由", "采样", "对齐", "微调", "缓存", "预训练", "编码", "检索",
    "剪枝", "调度", "估计", "正则化", "分词", "并行", "记忆", "规划", "重排序",
)  # fmt: skip
KIND_SUFFIXES = ("概述", "深度解析", "原理", "详解", "Overview", "Deep Dive")
IMPL_SUFFIXES = ("手撕实操", "从零手写", "完整Notebook实现")
FRAMEWORKS = ("TRL", "veRL", "OpenRLHF", "DeepSpeed", "Megatron-LM", "vLLM", "SGLang", "LLaMA-Factory")
ZH_SENTENCES = (
    "{a}的核心思想是在保持效果的同时降低计算量，实践中常和{b}一起使用。",
    "与{b}相比，{a}对长序列更友好，但实现上需要额外的显存管理。",
    "训练时先冻结主干，再逐步放开参数；{a}在这一步对稳定性影响很大。",
    "论文里给出的消融实验说明：去掉{b}以后指标下降约 3 个点。",
    "直觉上可以把{a}理解为一种正则化，它约束了模型在分布外的行为。",
    "实现细节：注意 batch 内的 padding 和 mask，否则{a}的梯度会被污染。",
    "{a}并不是万能的，数据质量差的时候先解决数据问题，再谈{b}。",
    "复杂度从 O(n^2) 降到 O(n log n)，这也是{a}被广泛采用的原因。",
)
EN_SENTENCES = (
    "{a} trades a little accuracy for a large drop in memory, which matters once sequences get long.",
    "In practice {a} is combined with {b}; the two address different bottlenecks of the same pipeline.",
    "The original paper reports a 2-3 point gain over {b} on reasoning benchmarks at the same compute.",
    "A common pitfall is forgetting to renormalise after {a}, which silently biases the estimate.",
    "Think of {a} as a constraint on how far the policy may move in one update.",
    "Most open-source implementations of {a} differ in details such as clipping and warm-up schedules.",
    "When the batch is small, {b} is more stable than {a}; with large batches the order flips.",
)
CUE_PREREQ = (
    "> 前置知识：{links}",
    "← 前置：{links}",
    "先修：{links}",
    "Prerequisites: {links}",
    "本节建立在 {one} 之上。",
    "This note builds on {one}.",
)
CUE_OTHER = (
    "{self} 基于 {one} 改进而来。",
    "{self} is based on {one}.",
    "{fw} 支持 {one}，也支持 {self}。",
    "{fw} supports {self} out of the box.",
    "这是 {one} 的一个实现（implementation of {one}）。",
    "从 {one} 到 {self}，思路一脉相承。",
)
COMPARISONS = ("更省显存", "faster", "更稳定", "simpler")
BOILERPLATE_HEADINGS = ("参考文献与相关内容", "References", "相关 MOC")


@dataclass(slots=True)
class Spec:
    """One note to generate."""

    index: int
    cluster: int
    domain: str
    topic: str
    name: str  # the concept the note is about
    abbr: str
    zh: bool
    stem: str  # file name without .md (may carry a kind suffix)
    path: str
    moc: bool = False
    implementation: bool = False
    prerequisites: list[int] = field(default_factory=list)
    variant_of: int | None = None
    implements: int | None = None
    links: list[int] = field(default_factory=list)


def _concept_name(i: int, rng: random.Random, zh: bool) -> tuple[str, str]:
    """A unique name and its abbreviation: `Sparse Attention 17` / `SA17`, `稀疏注意力-17` / `SA17`."""
    h, t = i % len(EN_HEAD), (i // len(EN_HEAD)) % len(EN_TAIL)
    serial = i // (len(EN_HEAD) * len(EN_TAIL))
    abbr = f"{EN_HEAD[h][0]}{EN_TAIL[t][0]}{EN_HEAD[h][-1].upper()}{i}"
    if zh:
        return f"{ZH_HEAD[i % len(ZH_HEAD)]}{ZH_TAIL[(i // len(ZH_HEAD)) % len(ZH_TAIL)]}-{i}", abbr
    suffix = f" {serial + 1}" if serial else ""
    return f"{EN_HEAD[h]} {EN_TAIL[t]}{suffix} {i}", abbr


def plan(n: int, seed: int) -> list[Spec]:
    rng = random.Random(seed)
    specs: list[Spec] = []
    foundation_n = min(FOUNDATION_SIZE, max(1, n // 20))
    for i in range(n):
        if i < foundation_n:
            cluster, domain, topic = 0, "00-Foundations", ""
        else:
            cluster = 1 + (i - foundation_n) // CLUSTER_SIZE
            domain = DOMAINS[(cluster - 1) % len(DOMAINS)][0]
            topic = f"T{cluster:04d}"
        zh = rng.random() < 0.45
        name, abbr = _concept_name(i, rng, zh)
        first_of_cluster = i == foundation_n + (cluster - 1) * CLUSTER_SIZE if cluster else False
        moc = first_of_cluster
        stem = name
        implementation = False
        roll = rng.random()
        if moc:
            stem = f"{name} MOC"
        elif roll < 0.12:
            stem = f"{name} {rng.choice(KIND_SUFFIXES)}"
        elif roll < 0.16:
            stem = f"{name}-{rng.choice(IMPL_SUFFIXES)}"
            implementation = True
        folder = f"{domain}/{topic}" if topic else domain
        specs.append(Spec(i, cluster, domain, topic, name, abbr, zh, stem, f"{folder}/{stem}.md", moc, implementation))
    by_cluster: dict[int, list[int]] = {}
    for s in specs:
        by_cluster.setdefault(s.cluster, []).append(s.index)
    for s in specs:
        members = by_cluster[s.cluster]
        earlier = [j for j in members if j < s.index and not specs[j].moc]
        if earlier:
            s.prerequisites = sorted(set(rng.sample(earlier, min(len(earlier), rng.randint(1, 3)))))
        if s.cluster and rng.random() < 0.3:
            s.prerequisites.append(rng.randrange(foundation_n))
        if earlier and rng.random() < 0.15:
            s.variant_of = rng.choice(earlier)
        if s.implementation and earlier:
            s.implements = rng.choice(earlier)
        # Other links: mostly the same cluster, some anywhere in the vault.
        k = rng.randint(3, 6)
        s.links = [rng.choice(members) if rng.random() < 0.7 else rng.randrange(n) for _ in range(k)]
    return specs


def _wiki(t: Spec, rng: random.Random, self_path: str, table: bool = False) -> str:
    """One wiki link to `t`, in one of the forms users write."""
    bar = "\\|" if table else "|"
    roll = rng.random()
    if roll < 0.35:
        return f"[[{t.stem}]]"
    if roll < 0.55:
        return f"[[{t.path[:-3]}{bar}{t.abbr if rng.random() < 0.5 else t.name}]]"
    if roll < 0.65:
        return f"[[{t.stem}#原理{bar}{t.name}]]" if rng.random() < 0.5 else f"[[{t.stem}#Overview]]"
    if roll < 0.72:
        return f"[[{t.stem}#^b{t.index}]]"
    if roll < 0.8:
        return f"[[{t.stem}.md{bar}{t.name}]]"
    if roll < 0.9 and not table:
        rel = _relative(self_path, t.path)
        return f"[{t.name}]({rel})"
    return f"[[{t.stem}{bar}{t.abbr}]]"


def _relative(src: str, dst: str) -> str:
    src_parts = src.split("/")[:-1]
    dst_parts = dst.split("/")
    common = 0
    while common < len(src_parts) and common < len(dst_parts) - 1 and src_parts[common] == dst_parts[common]:
        common += 1
    up = [".."] * (len(src_parts) - common)
    rel = "/".join(up + dst_parts[common:]) or dst_parts[-1]
    rel = rel.replace(" ", "%20")
    return rel if rel.startswith("..") else f"./{rel}"


def _prose(rng: random.Random, zh: bool, a: str, b: str, sentences: int) -> str:
    pool = ZH_SENTENCES if zh else EN_SENTENCES
    return "".join(("" if zh else " ") + rng.choice(pool).format(a=a, b=b) for _ in range(sentences)).strip()


def _front_matter(s: Spec, specs: list[Spec], rng: random.Random, moc_name: str | None) -> str:
    roll = rng.random()
    day = f"20{24 + s.index % 3}-{1 + s.index % 12:02d}-{1 + s.index % 28:02d}"
    if roll < 0.03:
        return ""
    if roll < 0.06:
        return (
            f"+++\ntitle = '{s.name}'\ndate = {day}T00:00:00+08:00\n"
            f"tags = ['{s.domain[3:].lower()}', 'hugo']\ndraft = false\n+++\n\n"
        )
    lines = ["---", f"title: {s.name}" if rng.random() < 0.7 else f'title: "{s.name}"']
    aliases = [s.abbr]
    if s.zh:
        aliases.append(f"{EN_HEAD[s.index % len(EN_HEAD)]} {EN_TAIL[s.index % len(EN_TAIL)]} {s.index}")
    if rng.random() < 0.5:
        lines.append(f"aliases: [{', '.join(aliases)}]")
    else:
        lines.append("aliases:")
        lines.extend(f"  - {a}" for a in aliases)
    domain_tag = s.domain[3:].lower()
    if rng.random() < 0.2:
        lines.append(f"tags: {domain_tag}")
    else:
        lines.append(f"tags: [ai/llm, {domain_tag}, {domain_tag}/{s.topic.lower() or 'base'}]")
    lines.append(f"type: {'moc' if s.moc else 'implementation' if s.implementation else 'concept'}")
    lines.append(f"domain: {s.domain}")
    lines.append(f"updated: {day}")
    if moc_name:
        lines.append(f'up: "[[{moc_name}]]"')
    fm_prereqs = [p for p in s.prerequisites if rng.random() < 0.5]
    if fm_prereqs and not s.moc:
        items = ", ".join(f'"[[{specs[p].stem}]]"' for p in fm_prereqs)
        lines.append(f"prerequisites: [{items}]")
    if s.variant_of is not None and rng.random() < 0.6:
        lines.append(f'variant_of: "[[{specs[s.variant_of].stem}]]"')
    if s.implements is not None:
        lines.append(f'implements: "[[{specs[s.implements].stem}]]"')
    lines.append("---\n\n")
    return "\n".join(lines)


def render(s: Spec, specs: list[Spec], clusters: dict[int, list[int]], seed: int) -> str:
    rng = random.Random(seed * 1_000_003 + s.index)
    members = clusters[s.cluster]
    moc = specs[members[0]] if s.cluster and specs[members[0]].moc and members[0] != s.index else None
    out: list[str] = [_front_matter(s, specs, rng, moc.stem if moc else None)]
    title = f"{s.name}（{s.abbr}）" if s.zh and rng.random() < 0.5 else s.name
    out.append(f"# {title}\n\n")
    if s.moc:
        out.append(f"> 本 MOC 按学习顺序编排 {s.domain} / {s.topic} 的笔记。\n\n## 目录\n\n")
        for n, j in enumerate(members[1:], 1):
            out.append(f"{n}. {_wiki(specs[j], rng, s.path)}\n")
            if rng.random() < 0.2:
                out.append(f"   - 相关：[[{specs[j].stem}#原理|原理]]\n")
        out.append(f"\n## 相关 MOC\n\n- ↑ 上级：[[00-Foundations/{specs[0].stem}|基础]]\n")
        return "".join(out)
    other = specs[rng.choice(s.links)] if s.links else s
    if s.prerequisites:
        cue = rng.choice(CUE_PREREQ)
        links = "、".join(_wiki(specs[p], rng, s.path) for p in s.prerequisites)
        out.append(cue.format(links=links, one=_wiki(specs[s.prerequisites[0]], rng, s.path)) + "\n\n")
    out.append(_prose(rng, s.zh, s.name, other.name, rng.randint(3, 6)) + "\n\n")
    out.append(f"## 原理 / Overview\n\n{_prose(rng, not s.zh, s.abbr, other.abbr, rng.randint(3, 6))}")
    inline = [f" {_wiki(specs[j], rng, s.path)}" for j in s.links[:3]]
    out.append(" 另见" + "，".join(inline) + "。 ^b" + str(s.index) + "\n\n")
    # typed relations written in the body
    for p in s.prerequisites[:2]:
        roll = rng.random()
        if roll < 0.3:
            out.append(f"prerequisite:: [[{specs[p].stem}]]\n")
        elif roll < 0.6:
            out.append(f"- prerequisite [[{specs[p].stem}]]\n")
    if s.variant_of is not None:
        base = specs[s.variant_of]
        out.append(rng.choice(CUE_OTHER[:2]).format(self=s.name, one=_wiki(base, rng, s.path)) + "\n")
    if rng.random() < 0.25:
        fw = rng.choice(FRAMEWORKS)
        out.append(rng.choice(CUE_OTHER[2:]).format(self=s.name, one=other.name, fw=f"[[{fw}]]") + "\n")
    out.append("\n## 推导与细节\n\n")
    for depth in range(rng.randint(1, 3)):
        j = rng.choice(s.links) if s.links else s.index
        out.append("  " * min(depth, 3) + f"- 要点 {depth + 1}：{specs[j].abbr} 与 {_wiki(specs[j], rng, s.path)}\n")
    out.append(
        "\n$$L(\\theta) = -\\mathbb{E}[\\log \\pi_\\theta(a|s)] + \\beta\\,D_{KL}$$"
        f" #{s.domain[3:].lower()}/math\n\n"
    )
    out.append("## 对比\n\n| 方法 | 笔记 | 说明 |\n|---|---|---|\n")
    for j in s.links[3:5]:
        t = specs[j]
        out.append(f"| {t.abbr} | {_wiki(t, rng, s.path, table=True)} | {rng.choice(COMPARISONS)} |\n")
    variants = [t.index for t in specs[max(0, s.index - 5) : s.index + 6] if t.variant_of == s.index]
    if variants:
        out.append(f"\n## {s.name} 及其变体\n\n")
        out.extend(f"- {_wiki(specs[v], rng, s.path)} — {specs[v].abbr}\n" for v in variants)
    out.append(
        "\n```python\n# [[NotALink]] #not-a-tag\n"
        f"def step(batch):\n    loss = model(batch).loss  # {s.abbr}\n    return loss\n```\n\n"
    )
    if rng.random() < 0.3:
        out.append(f"![[{s.abbr.lower()}-diagram.png|400]]\n\n")
    if rng.random() < 0.2:
        out.append(f"![[{other.stem}]]\n\n")
    if rng.random() < 0.4:
        out.append(f"下一步会写 [[Future Topic {rng.randrange(max(1, len(specs) // 10))}]]。\n\n")
    if rng.random() < 0.15:
        out.append("跳回 [[#原理 / Overview]]。\n\n")
    out.append(f"## {rng.choice(BOILERPLATE_HEADINGS)}\n\n")
    out.append(f"- 论文：https://arxiv.org/abs/24{s.index % 12 + 1:02d}.{s.index % 100000:05d}\n")
    if s.cluster:
        out.append(f"- 同目录：[{s.topic}](./)\n")
    out.append(f"\n#ai/llm #{s.domain[3:].lower()} #{'zh' if s.zh else 'en'}\n")
    return "".join(out)


def _encode(text: str, rng: random.Random, legacy_encodings: bool) -> bytes:
    roll = rng.random()
    if roll < 0.01 and legacy_encodings:
        try:
            return text.encode("gb18030")
        except UnicodeEncodeError:
            pass
    if roll < 0.03:
        return ("\ufeff" + text).encode("utf-8")
    if roll < 0.05:
        return text.replace("\n", "\r\n").encode("utf-8")
    return text.encode("utf-8")


def generate(n: int, out: Path, seed: int = 7, *, force: bool = False, legacy_encodings: bool = True) -> Path:
    """Write an `n`-note vault into `out` (reused when its manifest says it is the same vault).
    `legacy_encodings=False` keeps every note UTF-8 (obsidiantools crashes on a GB18030 note)."""
    manifest_path = out / MANIFEST
    if manifest_path.exists() and not force:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if (manifest.get("notes"), manifest.get("seed"), manifest.get("legacy_encodings")) == (
                n,
                seed,
                legacy_encodings,
            ):
                return out
        except (OSError, ValueError):
            pass
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    specs = plan(n, seed)
    clusters: dict[int, list[int]] = {}
    for s in specs:
        clusters.setdefault(s.cluster, []).append(s.index)
    enc_rng = random.Random(seed + 1)
    links = 0
    for s in specs:
        text = render(s, specs, clusters, seed)
        links += text.count("[[") + text.count("](")
        file = out / s.path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(_encode(text, enc_rng, legacy_encodings))
    # Targets with a deep closure: the last notes of clusters (they have the most earlier siblings).
    targets = [
        specs[members[-1]].name
        for cluster, members in sorted(clusters.items())
        if cluster and len(members) > 5 and not specs[members[-1]].moc
    ]
    manifest = {
        "notes": n,
        "seed": seed,
        "legacy_encodings": legacy_encodings,
        "links": links,
        "targets": targets[:200],
        "edit_candidates": [specs[i].path for i in range(len(specs) - 1, max(-1, len(specs) - 50), -1)],
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def load_manifest(vault: Path) -> dict[str, object]:
    data = json.loads((vault / MANIFEST).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("notes", type=int, help="number of notes (e.g. 1000, 10000, 50000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="default: bench/vaults/v{N}-s{seed}")
    parser.add_argument("--force", action="store_true", help="regenerate even if the vault exists")
    parser.add_argument("--utf8-only", action="store_true", help="no GB18030 notes (for obsidiantools)")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / "vaults" / f"v{args.notes}-s{args.seed}"
    started = time.perf_counter()
    generate(args.notes, out, args.seed, force=args.force, legacy_encodings=not args.utf8_only)
    manifest = load_manifest(out)
    print(
        f"{out}: {manifest['notes']} notes, ~{manifest['links']} links, seed {manifest['seed']} "
        f"({time.perf_counter() - started:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
