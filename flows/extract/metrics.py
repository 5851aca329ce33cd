"""Metrics: quantified indicators in prose and in indicator tables, one row per value.

A number is a metric only when it carries a unit (numbers.QUANTITY) and passes the unit's test:
- ``%``, ``个百分点``, ``倍``: always (the unit says it is a measure);
- money, data volumes, areas, lengths: Arabic numerals, or Chinese ones with a comparator;
- durations (天, 工作日, 小时 ...): a comparator (最多90天, 3个工作日内) or a duration word
  (时限, 用时, 压缩 ...): ``24小时“不打烊”`` is a service promise, not a measured duration;
- 年: only with a comparator (不少于5年): a bare ``2025年`` is a date;
- counts (个, 项, 家, 人, 条 ...): a comparator (以上, 超过, 近, 达到 ...), a 万/亿 multiplier
  (近1.5万家), or an Arabic count of at least 2 that a verb of building governs: right after it
  (建成10个示范应用, 实现第一批58项), a later item of its list (建设1个省级平台、14个市州分平台), or
  closing the clause it opens (接入部门120个). A plan's own counts of what it will build are
  targets; a count of 1 (打造1个大脑) names an architecture, not a quantity. Not: a count that
  closes a list (``…等7个领域``), counts of the document itself (``共包括7个部分``, ``3个方面``),
  small Chinese-numeral counts (``三个一``, ``四个品牌``, ``五级``), ordinals (``第6版``), numbers
  glued to letters or ``+`` (``IPv6``, ``5G``, ``1+15+N``), numbers in 《titles》, compound units
  outside the vocabulary (``条次``).
Anything without a unit (``12345热线``, section numbers, phone and document numbers, ``6000万``
with the unit left implicit) never starts.

Indicator and subject: the value splits its clause. ``一般政务服务事项100%“全程网办”`` → subject
before, indicator after; ``同步制发比例达90%`` → indicator before, no subject; ``80%以上的政务服务
事项实现全程网办`` → subject and indicator after; ``建成10个以上示范应用`` → indicator after. jieba
with the domain dictionary cuts the words, so verbs and adverbs (实现, 推动, 达到 ...) are trimmed
on term boundaries. Comparators: 以上/不低于/不少于/至少 → ``>=``; 超过/突破/逾/余 → ``>``;
不超过/以内/以下/最多/压减至/控制在 → ``<=``; 低于/少于 → ``<``; 近/约/左右 → ``~``; else ``=``.

is_target is false for baselines and achievements: a 发展现状/发展基础 section, a sentence that
reports (已, 截至, 达到了, 近年来, “十三五”期间 ...) without a deadline, a sentence stating a state
(累计, 目前, 共有) that no goal context dates, the ``由90%`` of ``由90%提高到95%``, and the base
columns of an indicator table. A baseline has no target_year; a target's comes from
``GoalContext.year_source_at``, which also says where it came from (``target_year_source``).
"""

from __future__ import annotations

import re
from typing import Any

from flows.budget import CHECK_EVERY, check
from flows.contract.issues import issue
from flows.extract.common import Document, enclosing
from flows.extract.goals import GoalContext
from flows.extract.numbers import (
    COMPARATOR_AFTER, COMPARATOR_BEFORE, QUANTITY, Quantity, alternation, measure, number, parse_quantity,
)
from flows.extract.segment import cut
from flows.patterns.plan_periods import FIVE_YEAR_PLAN
from flows.extract.tables import table_metrics


_MEASURE_UNITS = {"%", "个百分点", "倍"}
_AMOUNT_UNITS = {"元", "PB", "TB", "GB", "平方米", "公里"}
_DURATION_UNITS = {"工作日", "天", "小时", "分钟", "秒"}
_UNIT_TAIL = set("次户件")  # after a unit they make a compound unit (条次, 人户 ...)

_COMPARATOR_BEFORE = re.compile(rf"(?P<word>{alternation(COMPARATOR_BEFORE)})\s*$")
_COMPARATOR_AFTER = re.compile(rf"^\s*(?P<word>{alternation(COMPARATOR_AFTER)})")
# Verbs after which an Arabic count is something the plan will build (建成10个 ...).
_BUILD_WORDS = (
    r"建成|建设|新建|打造|培育|创建|认定|遴选|推出|上线|开通|接入|汇聚|归集|开放|培养|引进|形成|"
    r"建立|部署|发布|整合|迁移|实现|推广|编制|制定|完成|新增|累计|共建|布局|设立"
)
_BUILD_VERB = re.compile(rf"(?:{_BUILD_WORDS})\s*(?:第[一二三四五六七八九十\d]{{1,3}}批|首批|一批)?\s*$")
# ... or counted at the end of a clause the verb opens (接入部门120个, 建成政务云节点3个).
_BUILD_CLAUSE = re.compile(rf"(?:{_BUILD_WORDS})[^，,；;。、]*$")
# ... or a later item of a list the verb opens (建设1个省级平台、14个市州分平台).
_BUILD_LIST = re.compile(rf"(?:{_BUILD_WORDS})\s*\d[^，,；;。、]*(?:、[^，,；;。、]*)*、\s*$")
# ... unless the count closes a list or counts parts of the document.
# ... or the subject of a dated clause whose verb follows it (2023年年底前，使用频率最高的前100项电子
# 证照证明在…全面应用 / 到2025年，200个高频事项实现“跨省通办”): only modifiers before the count …
_DATED_SUBJECT = re.compile(r"[^，,；;。、\d]{0,16}?(?:的|前|首批|第一批)?\s*$")
# … and a verb of achievement after what it counts, in the same clause.
_ACHIEVED_AFTER = re.compile(r"(?:实现|全面应用|推广应用|广泛应用|上线运行|上线|接入|覆盖|共享|办理|建成|开通|投入使用)")
_LIST_COUNT_BEFORE = re.compile(r"(?:等|共|这|上述|以下|下列|前述|其中)\s*$")
_DOCUMENT_PARTS = re.compile(r"^\s*(?:个|项|大|类)?\s*(?:部分|方面|章|节|条意见|任务|措施|原则|环节|维度|领域|步骤|阶段)")
_DURATION_WORD = re.compile(r"时间|时限|用时|时长|周期|办结|压缩|缩短|提速|减少")
_PAST = re.compile(
    r"已(?!有)|已经|截至|截止|达到了|实现了|建成了|完成了|取得了|近年来|以来|过去|“?十[一二三]五”?(?:期间|时期)"
)
# Words that report a state when nothing dates the sentence as a target (累计减少材料20万份 under
# a 2022 goal is a target; 目前共有事项3000项 is a count of today).
_STATE = re.compile(r"累计|共有|现有|目前")
_FROM_TO = re.compile(r"(?:由|从)\s*$")
_CHANGE_AFTER = re.compile(r"[^，,；;。]{0,4}?(?:提高|提升|增加|增长|降低|下降|减少|压缩|缩短|压减|缩减)(?:到|至)")

# Words trimmed off the ends of an indicator or subject (jieba tokens).
_LEAD_WORDS = frozenset(
    "实现 推动 推进 确保 力争 争取 努力 全面 基本 逐步 进一步 持续 加快 使 让 促进 保持 预计 计划 其中 同时 "
    "并 且 和 及 以及 要 将 把 对 在 有 共 总计 合计 累计 新增 达到 达 超过 均 分别 都 并且 "
    "其 各 由 从 与 或 深化 提高 提升 加强 不断 基本上 初步 大力 全力 着力 有效 显著 明显 到 至 以 "
    "使得 力求 做到 达成 确保了 已 已经 目前 当前 现 带动 开展 组织 支持 引导 获得 助力 制定 , ， 、 ： :".split()
)
_TRAIL_WORDS = frozenset(
    "达到 达 为 超过 突破 不低于 不少于 保持 保持在 稳定 稳定在 提高 提高到 提升 提升至 提升到 控制 控制在 "
    "的 均 分别 都 要 将 以上 左右 约 近 逾 超 最多 不超过 降至 至 到 在 由 从 "
    "实现 和 及 以及 与 并 , ， 、".split()
)
# Where a long clause is cut to reach its indicator: after the last of these.
_SPLIT_VERBS = re.compile(r"(?:实现|推动|推进|确保|促进|使|让|力争|争取|其中|全面|努力)(?![率度量数])")
_SUBJECT_VERB = re.compile(r"(?:实现|达到|可|能够|具备|支持|做到|完成)")
_MEASURE_WINDOW = 12  # characters before a value that can say it is a change (比2020年增长 …)
# A measure named by a rate alone (覆盖率, 完成率, 比例, 占比): what it measures stands before the value.
_RATE_NOUN = re.compile(r"[\u4e00-\u9fff]{0,3}(?:率|比例|占比|比重)")
_YEAR_IN = re.compile(rf"(?:较|比)?(?:(?:19|20)\d\d\s*年|“?{FIVE_YEAR_PLAN.pattern}”?(?:期末|末)?)[底末]?(?:前)?")


def extract_metrics(doc_id: str, doc: Document) -> list[dict[str, Any]]:
    text = doc.text
    index, context = doc.index, doc.goal_context
    rows: list[dict[str, Any]] = []
    table_spans: list[tuple[int, int]] = []
    for table in doc.tables:
        table_spans.append((table.start, table.end))
        if index.extracted(table.start):
            rows.extend(table_metrics(table, text, context, doc.issues))
    found: dict[tuple[int, int], list[tuple[re.Match[str], Quantity]]] = {}
    for k, m in enumerate(QUANTITY.finditer(text)):
        if not k % CHECK_EVERY:
            check()
        sent = doc.sentence_at(m.start())
        if sent is None or not index.extracted(sent[0]) or enclosing(table_spans, sent[0]):
            continue
        q = parse_quantity(m)
        if q is not None:
            found.setdefault(sent, []).append((m, q))
    for m, q in _bare_counts(text):
        sent = doc.sentence_at(m.start())
        if sent is None or not index.extracted(sent[0]) or enclosing(table_spans, sent[0]):
            continue
        found.setdefault(sent, []).append((m, q))
    for k, (sent, quantities) in enumerate(found.items()):
        if not k % CHECK_EVERY:
            check()
        quantities.sort(key=lambda mq: mq[0].start())  # bare counts among the others, in text order
        rows.extend(_sentence_metrics(doc, sent, quantities, context))
    out, seen = [], set()
    rows.sort(key=lambda r: r["char_start"])  # text order, an indicator table's rows where it stands
    for r in rows:
        key = (r["char_start"], r["value"], r["value_max"], r["unit"], r["indicator"], r["is_target"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    for n, r in enumerate(out):
        r["metric_id"] = f"{doc_id}-m{n:04d}"
        r["doc_id"] = doc_id
    return out


def _sentence_metrics(doc: Document, sent: tuple[int, int], quantities: list[tuple[re.Match[str], Quantity]],
                      context: GoalContext) -> list[dict[str, Any]]:
    text, index = doc.text, doc.index
    s, e = sent
    sentence = text[s:e]
    accepted = []
    for m, q in quantities:
        comparator, value_start, value_end = _comparator(text, s, e, m, q)
        if _is_metric(doc, s, m, q, comparator):
            accepted.append((m, q, comparator or "=", value_start, value_end))
    if not accepted:
        return []
    reports_past = index.reports_past(s)
    has_deadline = context.has_deadline(s, e)
    past_sentence = bool(_PAST.search(sentence)) and not has_deadline
    state_sentence = bool(_STATE.search(sentence)) and not has_deadline
    rows = []
    previous_indicator = None
    # The values of one clause are consecutive (they come in text order, and the comparator
    # written before a value holds no clause mark): each value's neighbours in its clause are
    # looked up, not found by scanning all of the sentence's values for each one.
    clauses = [doc.clause(m.start(), s, e) for m, *_ in accepted]
    groups: list[list[int]] = []
    for k, clause in enumerate(clauses):
        if k and clauses[k - 1] == clause:
            groups[-1].append(k)
        else:
            groups.append([k])
    for members in groups:
        c0, c1 = clauses[members[0]]
        names = _respectively(text, c0, accepted[members[0]][3], len(members))
        ends = c0  # where the clause's values so far end
        for p, k in enumerate(members):
            m, q, comparator, v0, v1 = accepted[k]
            prev_end, ends = ends, max(ends, v1)
            nxt = accepted[members[p + 1]][3] if p + 1 < len(members) else c1
            before = text[prev_end:v0]
            after = text[v1:nxt]
            baseline = bool(_FROM_TO.search(before)) and bool(_CHANGE_AFTER.match(text, v1, c1))
            indicator, subject = (_trim(cut(names[p])) or None) if names else None, None
            if not indicator:
                indicator, subject = _indicator_subject(before, after, q.unit)
            if not indicator and prev_end > c0 and previous_indicator:
                indicator, subject = previous_indicator  # 由90%提高到95%: the second value shares it
            if not indicator:
                doc.issues.append(issue("extract", "metric_without_indicator",
                                        f"no indicator read for the value {m.group(0)!r}: not published",
                                        text, s, e))
                continue
            previous_indicator = (indicator, subject)
            year, year_source = context.year_source_at(m.start())
            is_target = not (reports_past or past_sentence or baseline or (state_sentence and year is None))
            rows.append(dict(
                metric_id=None, doc_id=None, section_id=index.at(s)["section_id"],
                indicator=indicator, subject=subject, value=q.value, value_max=q.value_max, unit=q.unit,
                comparator=">" if q.more_than and comparator == "=" else comparator,
                measure=measure(text[max(c0, m.start() - _MEASURE_WINDOW):m.start()], q.unit),
                target_year=year if is_target else None,
                target_year_source=year_source if is_target and year is not None else None, is_target=is_target,
                value_text=text[v0:v1].strip(), source_text=sentence, char_start=s, char_end=e,
                extractor="bare_count" if isinstance(m, _Span) else "sentence",
            ))
    return rows


# A count of people or things written without a measure word after an indicator that names
# them as a number (…用户数达到120万, 实名用户注册数突破8000万, 年办件量超过300万): the
# indicator says what is counted, so the unit comes from it. Only with 万/亿: a bare small number
# after 数 is as often a rank or a code.
_BARE_COUNT = re.compile(
    r"(?P<what>用户|人数|人员|居民|群众|注册|访问|企业|市场主体|办件|件|次)[^\s，,。；;：:、]{0,3}?(?:数|量)\s*"
    r"(?:累计)?(?:达到|达|突破|超过|超|逾|增至|提高到|提升到)\s*"
    r"(?P<num>\d+(?:\.\d+)?)(?P<mult>万|亿)(?![\d万亿]|[^\s，,。；;、）)]{0,1}(?:%|％|元|个|项|家|人|名|户|件|次|条|张|套|类))"
)
_BARE_UNIT = {"用户": "人", "人数": "人", "人员": "人", "居民": "人", "群众": "人", "注册": "人", "访问": "次",
              "企业": "户", "市场主体": "户", "办件": "件", "件": "件", "次": "次"}


class _Span:
    """The number of a bare count as the extractor reads a QUANTITY match (start, end, group)."""

    def __init__(self, text: str, start: int, end: int):
        self.string, self._start, self._end = text, start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, _: int = 0) -> str:
        return self.string[self._start:self._end]


def _bare_counts(text: str) -> list[tuple[Any, Quantity]]:
    """Counts whose unit only their indicator gives (see _BARE_COUNT), as (match, quantity)."""
    out = []
    for m in _BARE_COUNT.finditer(text):
        value = number(m.group("num"), m.group("mult"))
        if value is not None:
            q = Quantity(value, None, _BARE_UNIT[m.group("what")], False, True, False)
            out.append((_Span(text, m.start("num"), m.end("mult")), q))
    return out


def _comparator(text: str, s: int, e: int, m: re.Match[str], q: Quantity) -> tuple[str | None, int, int]:
    """The comparator written around a value, and the span of the value as written with it."""
    found, start, end = None, m.start(), m.end()
    window = text[max(s, m.start() - 8):m.start()]
    pm = _COMPARATOR_BEFORE.search(window)
    if pm:
        found = COMPARATOR_BEFORE[pm.group("word")]
        if found != "=":
            start = m.start() - (len(window) - pm.start())
    sm = _COMPARATOR_AFTER.match(text[m.end():min(e, m.end() + 4)])
    if sm and not (sm.group("word") == "内" and q.unit not in _DURATION_UNITS):  # 省内 is a place
        after = COMPARATOR_AFTER[sm.group("word")]
        found = after if found in (None, "=", after) else found
        end = m.end() + sm.end()
    return found, start, end


def _is_metric(doc: Document, s: int, m: re.Match[str], q: Quantity, comparator: str | None) -> bool:
    text = doc.text
    before = text[max(s, m.start() - 12):m.start()]
    if before.endswith(("第", "×", "x", "X", "*", "＊", "+", "＋")) or re.search(r"[A-Za-z]\s*$", before):
        return False
    if text[m.end():m.end() + 1] in ("+", "＋", "×") or doc.in_title(s, m.start()):
        return False
    if text[m.end():m.end() + 1] in _UNIT_TAIL and q.unit != "人次":
        doc.issues.append(issue("extract", "unit_not_in_vocabulary",
                                f"compound unit {text[m.start():m.end() + 1]!r} not in the vocabulary: not published",
                                text, m.start(), m.end() + 1))
        return False  # 12.6亿条次, 5万户次: a unit the vocabulary does not have
    unit = q.unit
    if unit in _MEASURE_UNITS:
        return True
    if unit in _AMOUNT_UNITS:
        return not q.chinese or comparator is not None
    if unit in _DURATION_UNITS:
        return comparator is not None or bool(_DURATION_WORD.search(text[max(s, m.start() - 12):m.start()]))
    if unit == "年":
        return comparator not in (None, "=") and q.value < 100
    # counts
    reported = doc.index.reports_past(s)
    listed = _LIST_COUNT_BEFORE.search(before)
    if _DOCUMENT_PARTS.match(text, m.end()) or (listed and not (reported and listed.group(0).startswith("等"))):
        return False
    if comparator is not None or q.multiplied or q.more_than:
        return not (q.chinese and q.value < 10 and comparator in (None, "="))
    if q.chinese or q.value < 2:
        return False
    if reported:
        # a report of results counts what was achieved, whatever verb (or none) states it:
        # 61家省级部门注册发布目录…, 挂接资源1803类, 获得12个…授权, 制定数据元等7类地方标准
        return True
    c0, c1 = doc.clause(m.start(), s, len(text))
    closes_clause = not text[m.end():c1].strip(" 。；;")
    return bool(_BUILD_VERB.search(before) or _BUILD_LIST.search(text, c0, m.start())
                or (closes_clause and _BUILD_CLAUSE.search(text, c0, m.start()))
                or (_DATED_SUBJECT.match(text, c0, m.start()) and doc.goal_context.has_deadline(s, m.start())
                    and _ACHIEVED_AFTER.search(text, m.end(), c1)))


def _indicator_subject(before: str, after: str, unit: str) -> tuple[str | None, str | None]:
    if _BUILD_VERB.search(before) or before.rstrip().endswith(("、", "，", ",")):
        before = ""  # 建成10个示范应用 / 建设1个X、14个Y: the value counts what is named after it
    elif unit != "%" and before.rstrip().endswith(("的", "前", "首批", "一批")):
        before = ""  # 使用频率最高的前100项电子证照证明: modifiers of what the count names after it
    before_words = _trim(_tail_phrase(_YEAR_IN.sub("", before)))
    after = after.strip()
    if after.startswith("的"):
        rest = after[1:]
        split = _SUBJECT_VERB.search(rest)
        if split and split.start() > 0:
            return _trim(cut(rest[split.end():])) or None, _trim(cut(rest[:split.start()])) or None
        if before_words:
            return before_words, _trim(cut(rest)) or None
        return _trim(cut(rest)) or None, None
    after_words = _trim(_head_phrase(after))
    if not after_words:
        return before_words or None, None
    if not before_words:
        return after_words, None
    if unit == "%":
        rate = _trim(cut(after.split("、")[0]))
        if _RATE_NOUN.fullmatch(rate):
            # 政务服务一体机镇街95%覆盖率: the value stands inside its indicator, whose thing is
            # the last item before it (…全覆盖、政务服务一体机镇街) and whose measure follows it
            return before_words.rsplit("、", 1)[-1] + rate, None
        return after_words, before_words
    return before_words + after_words, None


def _tail_phrase(before: str) -> list[str]:
    """The words of a clause's end that can be an indicator: after its last 实现/推动/确保 ..."""
    last = None
    for last in _SPLIT_VERBS.finditer(before):
        pass
    if last is not None and last.end() < len(before.rstrip()):
        before = before[last.end():]
    words = cut(before)
    while len("".join(words)) > 24 and len(words) > 1:
        words = words[1:]
    return words


def _head_phrase(after: str) -> list[str]:
    words = []
    for w in cut(after):
        if w in ("并", "并且", "同时", "以及", "，", ",") or (words and w in ("在", "于")):
            break  # (电子证照证明 在…场景中全面应用: a place starts after the name)
        words.append(w)
        if len("".join(words)) >= 20:
            break
    return words


def _trim(words: list[str]) -> str:
    words = [w for w in words if w.strip()]
    while words and words[0] in _LEAD_WORDS:
        words = words[1:]
    while words and words[-1] in _TRAIL_WORDS:
        words = words[:-1]
    return _balance("".join(words).strip(" ，,、：:"))


_OPENING = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "〈": "〉", '"': '"', "'": "'"}
_CLOSING = {c: o for o, c in _OPENING.items()}


def _balance(phrase: str) -> str:
    """Drop quotation marks at the ends that pair with nothing, or wrap the whole phrase:
    “全程网办” → 全程网办, 注册用户” → 注册用户, but “浙里办”注册用户 keeps its pair."""
    while phrase:
        first, last = phrase[0], phrase[-1]
        if first in _OPENING:
            close = _OPENING[first]
            if close not in phrase[1:]:
                phrase = phrase[1:]
                continue
            if len(phrase) > 1 and phrase.endswith(close) and close not in phrase[1:-1]:
                phrase = phrase[1:-1]
                continue
        if last in _CLOSING and _CLOSING[last] not in phrase[:-1]:
            phrase = phrase[:-1]
            continue
        return phrase.strip()
    return phrase


def _respectively(text: str, c0: int, first: int, values: int) -> list[str] | None:
    """X和Y分别达到90%、95%: the listed indicators a clause pairs with its values in order, when
    their number matches (``first``: where the clause's first value starts)."""
    head = text[c0:first]
    if "分别" not in head:
        return None
    names = [n for n in re.split(r"[和、与及]", _YEAR_IN.sub("", head.split("分别")[0])) if n.strip()]
    return names if len(names) == values else None
