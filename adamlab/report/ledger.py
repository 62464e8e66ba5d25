"""The claims ledger (adamlab/report/ledger.toml): every claim the report judges, with where the
paper makes it, its kind and the rule it is judged by, declared before the runs. Here: the loader
(a bad file stops with one line naming the claim and the field), the verdict words of each kind,
the check that the findings an item emits name its claims, and the verdict counts per kind and
horizon that the report's summary line (and the README's headline) quote.

    ledger = load_ledger()                     # {id: Claim}, in the file's order
    word("extension", "not reproduced")        # 'does not hold'
    counts(findings, ledger)["reproduction"]["paper"]["reproduced"]
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from ..core.verdicts import Finding

LEDGER = Path(__file__).with_name("ledger.toml")
KINDS = ("reproduction", "extension", "check")
SETTINGS = ("synthetic", "images")
# "paper": the paper's budget (10^4 epochs for the synthetic runs; its epochs, scaled down, for
# images); "end": the end state, runs continued until they settle.
HORIZONS = ("paper", "end")
HORIZON_TEXT = {"paper": "10^4 epochs", "end": "the end state"}
CLAIM_FIELDS = ("id", "item", "words", "source", "setting", "kind", "rule")
OPTIONAL_FIELDS = ("section",)
RULE_FIELDS = ("metric", "threshold", "k_of_n", "min_decided", "unit", "horizons")
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")

# The rules compute reproduction words (core/verdicts.py), or passed / failed for a check; each
# kind reads them in its own words. An extension is our own question, not the paper's claim, so
# it holds or it does not: it is never "not reproduced".
WORDS = {
    "reproduction": {"reproduced": "reproduced", "partly reproduced": "partly reproduced",
                     "not reproduced": "not reproduced", "still moving": "still moving",
                     "not measured": "not measured"},
    "extension": {"reproduced": "holds", "partly reproduced": "mixed",
                  "not reproduced": "does not hold", "still moving": "still moving",
                  "not measured": "not measured"},
    "check": {"passed": "passed", "failed": "failed", "reproduced": "passed",
              "not reproduced": "failed", "still moving": "still moving",
              "not measured": "not measured"},
}
NOT_AT_SCALE = "not observed at CPU scale"
# Each kind's words in the order the summary lists them.
KIND_WORDS = {kind: tuple(dict.fromkeys(words.values())) for kind, words in WORDS.items()}
KIND_WORDS["reproduction"] = KIND_WORDS["reproduction"][:3] + (NOT_AT_SCALE,) + \
    KIND_WORDS["reproduction"][3:]
# good / mixed / bad / moving / none: the badge colour of a word (its text says it without).
TONE = {"reproduced": "good", "holds": "good", "passed": "good",
        "partly reproduced": "mixed", "mixed": "mixed",
        "not reproduced": "bad", "does not hold": "bad", "failed": "bad",
        "still moving": "moving", "not measured": "none", NOT_AT_SCALE: "none"}


class LedgerError(ValueError):
    """A bad ledger, or a finding that names no claim of it: one line, naming claim and field."""


@dataclass(frozen=True)
class Rule:
    metric: str
    threshold: str
    k_of_n: str
    min_decided: int  # the fewest decided seeds / cells / configurations a verdict needs
    unit: str  # what min_decided counts
    horizons: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    id: str
    item: str
    words: str
    source: str
    setting: str
    kind: str
    rule: Rule
    section: str | None = None  # a title prefix among its item's sections; None: the first


def word(kind: str, verdict: str, scaled: bool = False) -> str:
    """The verdict in its kind's words ('not reproduced' -> 'does not hold' for an extension).
    scaled: judged on a protocol scaled down to a CPU, where a reproduction's "not reproduced"
    reads NOT_AT_SCALE: the scaled run did not show the claim, which says nothing of the paper's
    protocol (the scale-down rule can move a verdict: the `scaledown` item)."""
    if scaled and kind == "reproduction" and verdict == "not reproduced":
        return NOT_AT_SCALE
    try:
        return WORDS[kind][verdict]
    except KeyError:
        raise LedgerError(f"verdict {verdict!r} has no word for kind {kind!r}") from None


def load_ledger(path=None) -> dict[str, Claim]:
    """{id: Claim} in the file's order; LedgerError (one line) on a bad file."""
    return dict(_load(str(path or LEDGER)))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[tuple[str, Claim], ...]:
    name = Path(path).name
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise LedgerError(f"{name}: cannot read it ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise LedgerError(f"{name}: not valid TOML: {e}") from None
    extra = sorted(set(data) - {"claim"})
    if extra:
        raise LedgerError(f"{name}: {extra[0]}: unknown table (only [[claim]] entries)")
    entries = data.get("claim")
    if not isinstance(entries, list) or not entries:
        raise LedgerError(f"{name}: no [[claim]] entries")
    claims: dict[str, Claim] = {}
    for i, entry in enumerate(entries):
        claim = _claim(entry, f"{name}: claim #{i + 1}")
        if claim.id in claims:
            raise LedgerError(f"{name}: claim {claim.id!r}: id: used twice")
        claims[claim.id] = claim
    return tuple(claims.items())


def _claim(entry: dict, where: str) -> Claim:
    cid = entry.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise LedgerError(f"{where}: id: must be lower-case letters, digits, '.' and '-', "
                          f"got {cid!r}")
    where = f"{where.split(': ')[0]}: claim {cid!r}"
    for key in entry:
        if key not in CLAIM_FIELDS + OPTIONAL_FIELDS:
            raise LedgerError(f"{where}: {key}: unknown field (known: "
                              f"{', '.join(CLAIM_FIELDS + OPTIONAL_FIELDS)})")
    for key in CLAIM_FIELDS[1:-1] + OPTIONAL_FIELDS:
        if key not in entry and key not in OPTIONAL_FIELDS:
            raise LedgerError(f"{where}: {key}: missing")
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise LedgerError(f"{where}: {key}: must be a non-empty string")
    for key, allowed in (("kind", KINDS), ("setting", SETTINGS)):
        if entry[key] not in allowed:
            raise LedgerError(f"{where}: {key}: must be one of {', '.join(allowed)}, got "
                              f"{entry[key]!r}")
    rule = entry.get("rule")
    if not isinstance(rule, dict):
        raise LedgerError(f"{where}: rule: missing (a [claim.rule] table with "
                          f"{', '.join(RULE_FIELDS)})")
    for key in rule:
        if key not in RULE_FIELDS:
            raise LedgerError(f"{where}: rule.{key}: unknown field (known: "
                              f"{', '.join(RULE_FIELDS)})")
    for key in RULE_FIELDS:
        if key not in rule:
            raise LedgerError(f"{where}: rule.{key}: missing")
    for key in ("metric", "threshold", "k_of_n", "unit"):
        if not isinstance(rule[key], str) or not rule[key].strip():
            raise LedgerError(f"{where}: rule.{key}: must be a non-empty string")
    n = rule["min_decided"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise LedgerError(f"{where}: rule.min_decided: must be an integer >= 1, got {n!r}")
    hs = rule["horizons"]
    if (not isinstance(hs, list) or not hs or len(set(map(str, hs))) != len(hs)
            or any(h not in HORIZONS for h in hs)):
        raise LedgerError(f"{where}: rule.horizons: must be a non-empty list of distinct "
                          f"{' / '.join(HORIZONS)}, got {hs!r}")
    return Claim(id=cid, item=entry["item"], words=entry["words"], source=entry["source"],
                 setting=entry["setting"], kind=entry["kind"], section=entry.get("section"),
                 rule=Rule(metric=rule["metric"], threshold=rule["threshold"],
                           k_of_n=rule["k_of_n"], min_decided=n, unit=rule["unit"],
                           horizons=tuple(hs)))


def check_findings(findings: Iterable[Finding], ledger: dict[str, Claim],
                   item: str | None = None) -> None:
    """Every finding names a claim of the ledger (of `item`, when given), at a horizon its rule
    declares, once, with a verdict its kind has words for; else LedgerError."""
    seen = set()
    for f in findings:
        claim = ledger.get(f.claim_id) if f.claim_id is not None else None
        if claim is None:
            raise LedgerError(f"finding {f.claim[:60]!r}: claim_id: {f.claim_id!r} is not a "
                              f"claim of the ledger (adamlab/report/ledger.toml)")
        if item is not None and claim.item != item:
            raise LedgerError(f"claim {claim.id!r}: item: the ledger gives {claim.item!r}, but "
                              f"item {item!r} judged it")
        if f.horizon not in claim.rule.horizons:
            raise LedgerError(f"claim {claim.id!r}: horizon: {f.horizon!r} is not among its "
                              f"rule's horizons {list(claim.rule.horizons)}")
        if (claim.id, f.horizon) in seen:
            raise LedgerError(f"claim {claim.id!r}: judged twice at horizon {f.horizon!r}")
        seen.add((claim.id, f.horizon))
        word(claim.kind, f.verdict, f.scaled)


# Verdicts that rest on decided seeds / cells (what min_decided guards); "still moving" and "not
# measured" already say that nothing was decided.
DECISIVE = ("reproduced", "partly reproduced", "not reproduced", "passed", "failed")


def enforce_min_decided(findings: Iterable[Finding], ledger: dict[str, Claim]) -> list[Finding]:
    """The findings with each claim's rule.min_decided applied: a decisive verdict resting on
    fewer decided seeds / cells than the rule asks becomes "still moving" (when some were left
    out as still moving) or "not measured", and its text says why. A finding must say how many
    decided it (`decided`): one that does not is a LedgerError, so no rule is skipped silently."""
    out = []
    for f in findings:
        claim = ledger[f.claim_id]
        if f.decided is None:
            raise LedgerError(f"claim {claim.id!r}: decided: the finding does not say how many "
                              f"{claim.rule.unit} decided it (min_decided cannot be checked)")
        need = claim.rule.min_decided
        if f.verdict in DECISIVE and f.decided < need:
            f = replace(f, verdict="still moving" if f.still_moving else "not measured",
                        observed=f"{f.observed} Only {f.decided} {claim.rule.unit} decided; "
                        f"the rule needs {need}, so no verdict.")
        out.append(f)
    return out


def verdicts(findings: Iterable[Finding], claims: Sequence[Claim]) -> dict[str, dict[str, str]]:
    """{claim id: {horizon: word}} for each claim at each horizon its rule declares: the word of
    its finding there, "not measured" where it has none."""
    found = {(f.claim_id, f.horizon): f for f in findings}
    return {c.id: {h: word(c.kind, found[c.id, h].verdict, found[c.id, h].scaled)
                   if (c.id, h) in found
                   else "not measured" for h in c.rule.horizons} for c in claims}


def counts(findings: Iterable[Finding], ledger: dict[str, Claim],
           items: Iterable[str] | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """{kind: {horizon: {word: claims}}} over the ledger's claims (those of `items`, when given),
    each kind's words all listed (zeros too); a claim without a finding at a horizon counts as
    "not measured" there."""
    wanted = None if items is None else set(items)
    claims = [c for c in ledger.values() if wanted is None or c.item in wanted]
    out: dict[str, dict[str, dict[str, int]]] = {}
    by_claim = verdicts(findings, claims)
    for c in claims:
        for h, w in by_claim[c.id].items():
            per = out.setdefault(c.kind, {}).setdefault(h, dict.fromkeys(KIND_WORDS[c.kind], 0))
            per[w] += 1
    return out


def counts_line(table: dict[str, dict[str, dict[str, int]]],
                labels: dict[str, str] | None = None) -> str:
    """'Reproductions (11 claims), at 10^4 epochs: 5 reproduced, ...; at the end state: 11 not
    measured.' per kind, the words with no claim left out; labels: horizon -> its words
    (HORIZON_TEXT by default)."""
    labels = {**HORIZON_TEXT, **(labels or {})}
    parts = []
    for kind in KINDS:
        if kind not in table:
            continue
        per = table[kind]
        total = max(sum(words.values()) for words in per.values())
        head = f"{kind.capitalize()}s ({total} claim{'s' if total != 1 else ''})"
        at = [f"at {labels[h]}: " + ", ".join(f"{n} {w}" for w, n in per[h].items() if n)
              for h in HORIZONS if h in per]
        parts.append(f"{head}, " + "; ".join(at) + ".")
    return " ".join(parts)

