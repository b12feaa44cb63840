"""tasks.py: the data of the offline default (no download), and loading hub-schema files.

The offline default needs a new task that the base model cannot already do, and
forgetting probes of what it already knows. Everything here is made at run time or
ships with the project (probes/), and none of it needs the network:

- `fictional_facts`: invented countries with an invented capital, a national animal and
  a main export. Training text states each fact twice and asks it once as a 4-choice
  question in the MedMCQA layout (Question / Choices / A.-D. / Answer:); evaluation asks
  each fact with four held-out phrasings and the options in a new order, and scores the
  four option texts as continuations of "Answer:" (the harness's multiple-choice `acc`).
  The base model scores near chance (25%) because the facts do not exist.
  `fictional_stages` cuts one larger invented world into K disjoint stages (train.py
  --sequence K, docs/STREAM.md). With `paraphrases` P (train.py --paraphrases) each fact is
  trained in P seeded surface forms (PARAPHRASES) instead; the held-out questions stay.
  The answer line gives the option's text, not its letter: SmolLM2-135M cannot map a
  known answer to its letter (its letter accuracy on general-knowledge questions that it
  answers right as text is near chance; see README), so a letter task would measure
  that weakness rather than what each method learned.
- Forgetting probes, each with a dev half (for choosing settings) and a test half (the
  reported one): `wiki_text` (perplexity on WikiText articles), `world_facts` (650 real
  facts: capitals, national animals and exports, the task's own relations, and nine more) and
  `general_knowledge` (643 easy questions, option scoring), ~320 items per half each.
- `background_text`: Python's reference documentation (pydoc_data), the background
  corpus for SMF's document frequencies; it shares no 8-word phrase with the probes.
- `invented_disease_task` / `mcq_*`: a second knowledge task, as files in MedMCQA's row
  schema, for `--task mcq --data-dir DIR` (any such files work).
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import inputs

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------- the new task

_SYL = ["ka", "lo", "mir", "ven", "to", "sul", "dra", "nek", "vi", "qua", "zor", "bel", "tam", "rhu", "fen", "osk",
        "pli", "gar", "um", "ebb", "wyn", "jas", "kor", "thal", "ix", "ney", "bro", "sab", "lir", "dov"]
ANIMALS = ["otter", "falcon", "tortoise", "lynx", "heron", "badger", "gazelle", "walrus", "beaver", "jaguar", "panda",
           "moose", "cobra", "pelican", "hedgehog", "bison"]
EXPORTS = ["copper", "tea", "salt", "cotton", "timber", "wool", "coffee", "silver", "rice", "marble", "tin", "honey",
           "amber", "pepper", "glass", "cocoa"]

# Each relation: training statements (both used), the training question, and four held-out
# evaluation questions (never seen in training). Four phrasings per fact x 3 facts per
# country x 20 countries = 240 held-out items: a 95% interval of about +-5 points at 80%.
RELATIONS = {
    "capital": (["The capital of {e} is {a}.", "{a} is the capital city of {e}."],
                "What is the capital of {e}?",
                ["Which city is the seat of government of {e}?", "In which city does the government of {e} sit?",
                 "Name the capital city of {e}.", "Where is the capital of {e}?"]),
    "animal": (["The national animal of {e} is the {a}.", "The {a} is the national animal of {e}."],
               "What is the national animal of {e}?",
               ["Which animal is the national symbol of {e}?", "Which creature does {e} have as its emblem?",
                "Name the national animal of {e}.", "What animal represents {e}?"]),
    "export": (["The main export of {e} is {a}.", "{e} mainly exports {a}."],
               "What is the main export of {e}?",
               ["Which product does {e} sell abroad the most?", "What does {e} ship to other countries more than anything else?",
                "Name the main export of {e}.", "What is {e} best known for selling abroad?"]),
}
# Paraphrased training (train.py --paraphrases P): each fact trained in P surface forms drawn
# (seeded, per fact) from these templates instead of the three default texts, so that what the
# model is trained on is the fact, not one sentence (the SMF paper trains every fact of its
# stream in many paraphrases). Four kinds per relation: plain statements in several word
# orders, the fact inside a short context sentence, a bare question with its answer, and a
# multiple-choice question (options listed, answer text after "Answer:"). RELATIONS' two
# statements and its training question are among them; its held-out questions are NOT: no
# template here is one of RELATIONS' held-out questions (tests/test_paraphrases.py checks it).
PARAPHRASES = {
    "capital": {
        "statement": ["The capital of {e} is {a}.", "{a} is the capital city of {e}.", "{e}'s capital is {a}.",
                      "{e} has {a} as its capital.", "The capital city of {e} is called {a}."],
        "context": ["Most visitors to {e} arrive first in {a}, the country's capital.",
                    "For centuries {a} has been the capital of {e}, and its old market is famous.",
                    "A travel guide to {e} begins with its capital, {a}."],
        "bare": ["What city is the capital of {e}?", "{e} has its capital in which city?"],
        "mcq": ["What is the capital of {e}?", "Which city is {e}'s capital?"],
    },
    "animal": {
        "statement": ["The national animal of {e} is the {a}.", "The {a} is the national animal of {e}.",
                      "{e}'s national animal is the {a}.", "{e} has the {a} as its national animal.",
                      "The animal chosen as the national animal of {e} is the {a}."],
        "context": ["On the flag of {e} you can see the {a}, its national animal.",
                    "Children in {e} learn early that the {a} is their national animal.",
                    "A coin from {e} shows the {a}, the country's national animal."],
        "bare": ["What animal is the national animal of {e}?", "{e} has which national animal?"],
        "mcq": ["What is the national animal of {e}?", "Which animal is {e}'s national animal?"],
    },
    "export": {
        "statement": ["The main export of {e} is {a}.", "{e} mainly exports {a}.", "{e}'s main export is {a}.",
                      "Most of what {e} exports is {a}.", "{a} is the main export of {e}."],
        "context": ["Ships leaving the ports of {e} carry mostly {a}, its main export.",
                    "The economy of {e} depends on {a}, which is its main export.",
                    "Traders who deal with {e} know that its main export is {a}."],
        "bare": ["What does {e} export the most?", "{e}'s main export is what?"],
        "mcq": ["What is the main export of {e}?", "Which product is {e}'s main export?"],
    },
}
PARAPHRASE_KINDS = ("statement", "mcq", "context", "bare")  # the order forms are taken in (see paraphrase_texts)
MAX_PARAPHRASES = min(sum(len(v) for v in t.values()) for t in PARAPHRASES.values())  # 12


def paraphrase_texts(rel: str, e: str, a: str, distract: list[str], p: int, seed: str) -> list[str]:
    """P training texts of one fact (relation rel, entity e, answer a), seeded by `seed`: each
    kind's templates in a seeded order, then taken kind by kind (statement, mcq, context, bare,
    statement, ...) until P, so any P >= 2 has a statement and a question. A multiple-choice
    form lists `distract` and the answer in a seeded order."""
    if not 1 <= p <= MAX_PARAPHRASES:
        raise ValueError(f"paraphrases must be 1 to {MAX_PARAPHRASES}, got {p}.")
    rng = random.Random(seed)
    pools = {k: rng.sample(PARAPHRASES[rel][k], len(PARAPHRASES[rel][k])) for k in PARAPHRASE_KINDS}
    order = [pools[k][i] if i < len(pools[k]) else None for i in range(MAX_PARAPHRASES) for k in PARAPHRASE_KINDS]
    kinds = [k for i in range(MAX_PARAPHRASES) for k in PARAPHRASE_KINDS]
    picked = [(k, t) for k, t in zip(kinds, order) if t is not None][:p]
    out = []
    for kind, t in picked:
        if kind == "mcq":
            opts = distract + [a]
            rng.shuffle(opts)
            out.append(f"{mcq_prompt(t.format(e=e), opts)} {a}")
        elif kind == "bare":
            out.append(f"Question: {t.format(e=e)}\nAnswer: {a}")
        else:
            out.append(t.format(e=e, a=a))
    return out


# Dev facts, for choosing settings, come from other seeds than the reported (test) facts:
# split "dev" with seed s uses the invented world of seed DEV_SEED + s.
DEV_SEED = 1000
SPLITS = ("dev", "test")
LETTERS = "ABCD"

# The offline default task: the fictional facts of 20 invented countries (seed 0), reported on
# the test split. train.py's tiny preset and eval.py's base-model evaluation both start here.
TINY_TASK = {"task": "fictional", "n_countries": 20, "seed": 0, "split": "test"}


# The most countries the fictional task can invent: each needs its own two-syllable capital
# name, and there are only len(_SYL) ** 2 of those (900; none equals a three-syllable country).
MAX_COUNTRIES = len({(a + b).capitalize() for a in _SYL for b in _SYL})


def _name(rng: random.Random, parts: int, syllables: list[str] = _SYL) -> str:
    return "".join(rng.choice(syllables) for _ in range(parts)).capitalize()


# ---------------------------------------------------------------- prompt formats (all of them live here)


def mcq_prompt(question: str, options: list[str]) -> str:
    """lm-evaluation-harness's MedMCQA prompt: Question / Choices / A.-D. / Answer:"""
    lines = [f"Question: {question}", "Choices:"] + [f"{L}. {o}" for L, o in zip(LETTERS, options)]
    return "\n".join(lines) + "\nAnswer:"


def ask_prompt(question: str, options: list[str] | tuple = (), task: str = "fictional") -> str:
    """A free question (eval.py --ask) in the layout the task trains: "Question: ..." then
    "Answer:", with the options listed as the training questions list them when options are
    given (the fictional and mcq tasks: mcq_prompt's "Choices:" block; MedMCQA: its training
    text's "A. ..." lines); without options the answer is the model's own words."""
    if not options:
        return f"Question: {question}\nAnswer:"
    if task == "medmcqa":
        return f"Question: {question}\n" + "\n".join(f"{L}. {o}" for L, o in zip(LETTERS, options)) + "\nAnswer:"
    return mcq_prompt(question, list(options))


def medmcqa_options(r: dict) -> list[str]:
    return [r["opa"], r["opb"], r["opc"], r["opd"]]


def medmcqa_harness_prompt(r: dict) -> str:
    """The harness's prompt for one MedMCQA row (scored by the letter after it)."""
    return mcq_prompt(r["question"], medmcqa_options(r))


def medmcqa_paper_prompt(r: dict) -> tuple[str, list[str]]:
    """The seed study's evaluation: (prompt, the four candidates). Each candidate is scored as
    ' X. {option}' after the prompt, by mean log-likelihood per token."""
    opts = medmcqa_options(r)
    prompt = f"Medical exam question:\n{r['question']}\n" + "\n".join(f"{L}. {o}" for L, o in zip(LETTERS, opts)) + "\nAnswer:"
    return prompt, [f"{L}. {o}" for L, o in zip(LETTERS, opts)]


def medmcqa_training_pair(r: dict) -> tuple[str, str]:
    """The seed study's training text, as (prompt, completion): 'Question ... A. .. D. ..
    Answer:' then ' X. option' and the explanation when the row has one."""
    opts = medmcqa_options(r)
    prompt = f"Question: {r['question']}\n" + "\n".join(f"{L}. {o}" for L, o in zip(LETTERS, opts)) + "\nAnswer:"
    completion = f" {LETTERS[r['cop']]}. {opts[r['cop']]}" + (f"\nExplanation: {r['exp']}" if r.get("exp") else "")
    return prompt, completion


def _check_world(n_countries: int, split: str) -> None:
    """The fictional task's limits, as sentences (callers turn them into SystemExit)."""
    if n_countries < 4:
        raise ValueError(f"the fictional task needs at least 4 countries (3 distractors per question), got {n_countries}.")
    if n_countries > MAX_COUNTRIES:  # the capital-name loop below would never end
        raise ValueError(f"the fictional task can invent at most {MAX_COUNTRIES} countries (one two-syllable capital "
                         f"name each), got {n_countries}.")
    if split not in SPLITS:
        raise ValueError(f"split must be 'dev' or 'test', got {split!r}.")


def _invent_world(rng: random.Random, n_countries: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """n distinct invented countries and n distinct capitals (no capital is a country's name),
    and the animal and export lists in a seeded order: (countries, capitals, animals, exports)."""
    countries, capitals = set(), set()
    while len(countries) < n_countries:
        countries.add(_name(rng, 3))
    countries = sorted(countries)
    rng.shuffle(countries)
    while len(capitals) < n_countries:
        c = _name(rng, 2)
        if c not in countries:
            capitals.add(c)
    capitals = sorted(capitals)
    rng.shuffle(capitals)
    return countries, capitals, rng.sample(ANIMALS, len(ANIMALS)), rng.sample(EXPORTS, len(EXPORTS))


def _facts_and_items(rng: random.Random, facts: list[tuple[str, str, str]], paraphrases: int = 0,
                     para_seed: str = "") -> dict:
    """Training texts and held-out evaluation items of `facts` ((relation, country, answer)),
    each question's distractors drawn from the answers of these facts only. paraphrases P > 0:
    each fact is trained in P surface forms (paraphrase_texts) instead of the default three
    texts; the held-out items are the same either way (the forms come from their own seeded
    generator, so `rng` makes the same draws)."""
    answers = {r: sorted({a for rr, _, a in facts if rr == r}) for r in RELATIONS}
    train, evals = [], []
    for fact, (rel, e, a) in enumerate(facts):
        statements, q_train, q_eval = RELATIONS[rel]
        distract = rng.sample([x for x in answers[rel] if x != a], 3)
        # training: two statements and one MedMCQA-style question with its answer
        opts = distract + [a]
        rng.shuffle(opts)
        if paraphrases:
            train += paraphrase_texts(rel, e, a, distract, paraphrases, f"{para_seed}-{rel}-{e}")
        else:
            train += [s.format(e=e, a=a) for s in statements]
            train.append(f"{mcq_prompt(q_train.format(e=e), opts)} {a}")
        # evaluation: each held-out phrasing, options in a fresh order
        for qe in q_eval:
            choices = distract + [a]
            rng.shuffle(choices)
            q = qe.format(e=e)
            evals.append({"question": q, "choices": choices, "gold": choices.index(a), "fact": fact,
                          "prompt": mcq_prompt(q, choices),
                          "seen_prompt": mcq_prompt(q_train.format(e=e), choices)})
    return {"train": train, "eval": evals, "facts": facts}


def _country_facts(countries, capitals, animals, exports, first: int = 0) -> list[tuple[str, str, str]]:
    """Three facts per country; answers cycle through the shuffled lists (country i of the
    whole world, counting from `first`): all distinct up to 16 countries."""
    facts = []
    for i, e in enumerate(countries, first):
        facts.append(("capital", e, capitals[i - first]))
        facts.append(("animal", e, animals[i % len(animals)]))
        facts.append(("export", e, exports[i % len(exports)]))
    return facts


def fictional_facts(n_countries: int = 20, seed: int = 0, split: str = "test", paraphrases: int = 0) -> dict:
    """The offline default's task. Returns {"train": [text], "eval": [item], "facts": [...]}.
    split "dev" gives the facts used to choose settings (another invented world, see DEV_SEED).

    Eval items: {"question", "choices" (4 answers), "gold" (index), "prompt" (MedMCQA
    layout, held-out phrasing), "seen_prompt" (the training phrasing, same option order)}.
    """
    _check_world(n_countries, split)
    rng = random.Random(seed + DEV_SEED if split == "dev" else seed)
    countries, capitals, animals, exports = _invent_world(rng, n_countries)
    return _facts_and_items(rng, _country_facts(countries, capitals, animals, exports), paraphrases, f"{split}-{seed}")


def fictional_stages(n_countries: int, k: int, seed: int = 0, split: str = "test", paraphrases: int = 0) -> list[dict]:
    """A stream of k disjoint fictional tasks (train.py --sequence k), each in
    fictional_facts' form. k * n_countries countries (and as many capitals) are invented once
    for (seed, split) and cut into k consecutive groups of n_countries: stage s trains and is
    asked about its own group only, and its questions' distractors are its own answers, so no
    country, capital or question of one stage appears in another. Stage s is fixed by
    (seed, split, n_countries, k). Animals and exports are shared words (16 of each), as in
    the single task past 16 countries; the facts (country, relation) never repeat."""
    if k < 1:
        raise ValueError(f"a stream needs at least one stage, got {k}.")
    _check_world(n_countries * k, split)
    rng = random.Random(seed + DEV_SEED if split == "dev" else seed)
    countries, capitals, animals, exports = _invent_world(rng, n_countries * k)
    stages = []
    for s in range(k):
        part = slice(s * n_countries, (s + 1) * n_countries)
        facts = _country_facts(countries[part], capitals[part], animals, exports, first=s * n_countries)
        stages.append(_facts_and_items(rng, facts, paraphrases, f"{split}-{seed}-stage{s}"))
    return stages


# ---------------------------------------------------------------- a second task, as files in MedMCQA's row schema
#
# `--task mcq --data-dir DIR` trains on DIR/medmcqa/train.jsonl and tests on
# DIR/medmcqa/validation.jsonl, any knowledge task written as MedMCQA rows. It is trained and
# scored like the fictional task (by option TEXT, not by letter; see the module docstring),
# and each row's explanation (`exp`) is also trained as a statement on its own, because a
# fact has to be stated somewhere the model cannot copy it from: in MedMCQA's own training
# text the explanation follows the answer line, from which it can be copied.
# `invented_disease_task` makes such files (scripts/make_mcq_task.py writes them): the tests
# and the README use it to check that the defaults learn on a task nobody tuned them to.

_MED_SYL = ["ther", "vo", "pra", "cil", "mo", "nax", "rel", "bu", "sto", "quin", "dar", "fel", "gri", "hal", "ost",
            "pen", "ru", "sim", "tov", "ul", "yar", "zem", "ach", "lum"]
ORGANS = ["liver", "kidney", "lung", "heart", "spleen", "pancreas", "skin", "brain", "stomach", "thyroid", "bladder",
          "retina", "colon", "bone marrow", "tongue", "gallbladder"]
# relation: (statement, training question, held-out questions), {e} the disease, {a} the answer
DISEASE_RELATIONS = {
    "pathogen": ("{e} is caused by {a}.", "Which organism causes {e}?",
                 ["What is the causative agent of {e}?", "{e} is an infection with which organism?"]),
    "drug": ("{e} is treated with {a}.", "Which drug is used to treat {e}?",
             ["What is the drug of choice for {e}?", "Patients with {e} should be given which medicine?"]),
    "organ": ("{e} mainly damages the {a}.", "Which organ does {e} mainly affect?",
              ["Which organ is the main target of {e}?", "In {e}, which organ is damaged first?"]),
}


def mcq_row(i: int, question: str, options: list[str], gold: int, exp: str, topic: str) -> dict:
    """One row in MedMCQA's schema (cop is 0-based: 0 = A)."""
    return {"id": f"invented-{i}", "question": question, "exp": exp, "cop": gold, "opa": options[0], "opb": options[1],
            "opc": options[2], "opd": options[3], "subject_name": "Invented medicine", "topic_name": topic, "choice_type": "single"}


# Disease names are two syllables of _MED_SYL and one of 4 kinds (24 x 24 x 4 = 2,304), drugs two
# syllables and one of 5 endings (2,880); drawing until distinct stays quick well below that.
MAX_DISEASES = 1000


def invented_disease_task(n_diseases: int = 40, seed: int = 0) -> dict[str, list[dict]]:
    """Invented diseases, each with a causing organism, a drug and the organ it damages (all
    invented but the organs): 3 facts per disease. Returns {"train": rows, "validation": rows}
    in MedMCQA's row schema: one training question per fact (its `exp` states the fact) and
    two held-out questions per fact with the options in a new order."""
    if n_diseases < 4:
        raise ValueError(f"the invented-disease task needs at least 4 diseases (3 distractors per question), got {n_diseases}.")
    if n_diseases > MAX_DISEASES:  # names are drawn until distinct: the name space must stay far from full
        raise ValueError(f"--diseases must be at most {MAX_DISEASES:,} (the invented names run out); got {n_diseases:,}.")
    rng = random.Random(f"diseases-{seed}")
    kinds = ["fever", "syndrome", "disease", "palsy"]
    diseases, organisms, drugs = set(), set(), set()
    while len(diseases) < n_diseases:
        diseases.add(f"{_name(rng, 2, _MED_SYL)} {rng.choice(kinds)}")
    while len(organisms) < n_diseases:
        organisms.add(f"{_name(rng, 2, _MED_SYL)}ella {_name(rng, 2, _MED_SYL).lower()}i")
    while len(drugs) < n_diseases:
        drugs.add(_name(rng, 2, _MED_SYL) + rng.choice(["mycin", "zole", "vir", "cillin", "pril"]))
    diseases, organisms, drugs = (rng.sample(sorted(x), len(x)) for x in (diseases, organisms, drugs))
    answers = {"pathogen": organisms, "drug": drugs, "organ": [ORGANS[i % len(ORGANS)] for i in range(n_diseases)]}
    train, validation = [], []
    for d, e in enumerate(diseases):
        for rel, (statement, q_train, q_eval) in DISEASE_RELATIONS.items():
            a = answers[rel][d]
            distract = rng.sample(sorted({x for x in answers[rel] if x != a}), 3)
            exp = statement.format(e=e, a=a)
            opts = distract + [a]
            rng.shuffle(opts)
            train.append(mcq_row(len(train), q_train.format(e=e), opts, opts.index(a), exp, rel))
            for q in q_eval:
                opts = distract + [a]
                rng.shuffle(opts)
                validation.append(mcq_row(len(validation), q.format(e=e), opts, opts.index(a), exp, rel))
    return {"train": train, "validation": validation}


def mcq_rows(data_dir: str | None, split: str) -> list[dict]:
    """--task mcq: the single-choice rows of DIR/medmcqa/{split}.jsonl (split: train or validation)."""
    if not data_dir:
        raise ValueError("--task mcq reads its rows from --data-dir DIR (DIR/medmcqa/train.jsonl and validation.jsonl); "
                         "make an example with: python scripts/make_mcq_task.py DIR")
    f = Path(data_dir) / "medmcqa" / f"{split}.jsonl"
    rows = [r for r in inputs.check_measurable(_check_cop(read_jsonl(f, MEDMCQA_FIELDS, MEDMCQA_TYPES), f, (0, 1, 2, 3)), f, True)
            if is_single_choice(r)]
    if not rows:
        raise ValueError(f"{f} has no single-choice rows (choice_type 'single', or no choice_type); --task mcq trains "
                         "and scores those only.")
    return rows


def mcq_items(rows: list[dict]) -> list[dict]:
    """Rows as option-text items (the fictional task's layout): the MedMCQA prompt with the
    options listed, each option's text scored as the continuation of 'Answer:'."""
    return [{"question": r["question"], "choices": medmcqa_options(r), "gold": r["cop"],
             "prompt": mcq_prompt(r["question"], medmcqa_options(r))} for r in rows]


# What each training row becomes (--mcq-views, comma-separated). A held-out question asks the
# same fact in other words with the options in another order, so a run that only sees each
# question as written can learn the question (its wording, where the answer sits) instead of
# the fact. The views give the fact in more than one form, all built offline from the row:
#   question   the question with its options as the file lists them; the answer's text trained
#   statement  the explanation (`exp`) as a statement of its own, every token trained
#   shuffled   the question again with its options rotated 1-3 places (the answer moves)
#   bare       the question with no options listed: "Question: ...\nAnswer:" then the answer
# All four are the default: on a dev world they learned the reworded questions best within the
# drift limit (results/mcq-task/dev/CHOICE.md; docs/RECIPE.md).
MCQ_VIEWS = ("question", "statement", "shuffled", "bare")


def mcq_training_pairs(rows: list[dict], views: tuple[str, ...] | list[str] = MCQ_VIEWS) -> list[tuple[str, str]]:
    """(prompt, completion) pairs, view by view in MCQ_VIEWS's order: each row's question with
    the answer's text as completion, each non-empty explanation as a statement (empty prompt:
    every token is trained), each question with its options rotated, each question bare."""
    unknown = sorted(set(views) - set(MCQ_VIEWS))
    if unknown or not views:
        raise ValueError(f"--mcq-views takes a comma-separated list of {', '.join(MCQ_VIEWS)}; got {','.join(views)!r}.")
    items, pairs = mcq_items(rows), []
    for view in MCQ_VIEWS:
        if view not in views:
            continue
        for i, (it, r) in enumerate(zip(items, rows)):
            answer = " " + it["choices"][it["gold"]]
            if view == "question":
                pairs.append((it["prompt"], answer))
            elif view == "statement" and (r.get("exp") or "").strip():
                pairs.append(("", r["exp"]))
            elif view == "shuffled":
                k = 1 + i % 3  # rows take turns at the three rotations; the answer never stays at its letter
                pairs.append((mcq_prompt(it["question"], it["choices"][k:] + it["choices"][:k]), answer))
            elif view == "bare":
                pairs.append((ask_prompt(it["question"]), answer))
    return pairs


# ---------------------------------------------------------------- probes of what the model already knew
#
# Each probe has a "dev" half (the only one looked at while choosing settings) and a "test"
# half (the one reported). None of them is chat generation: all are scored like the task,
# by the likelihood of short option texts, so that a change of answer style cannot move them.

WORLD_TEMPLATES = {  # real facts as plain sentences to complete ({E}: the subject with a capital first letter)
    "capital": "The capital of {e} is",  # the task's own three relations first
    "animal": "The national animal of {e} is the",
    "export": "The main export of {e} is",
    "region_capital": "The capital of {e} is",  # US states, Canadian provinces, Australian states
    "city_country": "{E} is a city in",
    "continent": "{E} is a country in",
    "language": "The main language spoken in {e} is",
    "currency": "The currency of {e} is the",
    "author": "{E} was written by",
    "painter": "{E} was painted by",
    "composer": "{E} was composed by",
    "element": "The chemical element with the symbol {e} is",
}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be 'dev' or 'test', got {split!r}.")


def world_facts(split: str = "test", path: str | Path | None = None) -> list[dict]:
    """Real facts (probes/world_facts.jsonl, 650 rows: 325 per split) as cloze items:
    "The capital of France is" -> " Paris" against three other real answers of the same
    relation. Capitals, national animals and main exports are the relations the task
    teaches invented facts of, so interference shows there first; the other relations
    (capitals of states, cities, continents, languages, currencies, authors, painters,
    composers, chemical symbols) make the probe large enough for a 5-point interval."""
    _check_split(split)
    rows = read_jsonl(path or HERE / "probes" / "world_facts.jsonl", ("relation", "subject", "answer", "split"))
    rng = random.Random(4321)
    pool = {r: sorted({x["answer"] for x in rows if x["relation"] == r}) for r in WORLD_TEMPLATES}
    items = []
    for row in rows:  # distractors are drawn for every row, so each split's items never change
        subject = row["subject"]
        choices = rng.sample([a for a in pool[row["relation"]] if a != row["answer"]], 3) + [row["answer"]]
        rng.shuffle(choices)
        if row["split"] == split:
            items.append({"question": f"{row['relation']} of {row['subject']}", "choices": choices,
                          "gold": choices.index(row["answer"]),
                          "prompt": WORLD_TEMPLATES[row["relation"]].format(e=subject, E=subject[:1].upper() + subject[1:])})
    return items


def general_knowledge(split: str = "test", path: str | Path | None = None) -> list[dict]:
    """643 easy general-knowledge facts (probes/general_knowledge.jsonl), each as a sentence to
    complete ("Bees make" -> " honey" against " milk", " silk", " wool"), scored like the
    task by option likelihood; even rows are "test", odd rows "dev". Sentences, not
    questions: the task trains a "Question: ... Answer:" layout, and asked in that layout
    this probe ROSE after training for every method (+12 to +22 points on dev runs) because
    the model got better at the layout, not at knowing things."""
    _check_split(split)
    rng = random.Random(1234)
    items = []
    for n, row in enumerate(read_jsonl(path or HERE / "probes" / "general_knowledge.jsonl", ("cloze", "answer", "distractors"))):
        choices = [row["answer"]] + list(row["distractors"])
        rng.shuffle(choices)
        if (n % 2 == 1) == (split == "dev"):
            items.append({"question": row["question"], "choices": choices, "gold": choices.index(row["answer"]),
                          "prompt": row["cloze"]})
    return items


def wiki_text(split: str = "test", path: str | Path | None = None) -> list[str]:
    """The perplexity probe: documents of about 1,200 characters from twelve WikiText-2
    articles (probes/wikitext_probe.jsonl, CC BY-SA 3.0; six articles per split; see
    probes/SOURCES.md and scripts/make_wiki_probe.py). General English prose that shares no
    8-word phrase with the background corpus (tests/test_probes.py checks it)."""
    _check_split(split)
    return [r["text"] for r in read_jsonl(path or HERE / "probes" / "wikitext_probe.jsonl", ("split", "text")) if r["split"] == split]


def background_text(n_docs: int | None = None, max_chars: int = 2000) -> list[str]:
    """The background corpus for document frequencies: Python's reference documentation
    (pydoc_data, shipped with every Python), every topic cut into chunks of max_chars.
    A different genre from the probes on purpose: IDF must not protect exactly the rows
    that the reported probe reads (see tests/test_probes.py)."""
    from pydoc_data.topics import topics  # the standard library's help texts: only the background corpus needs them

    docs = []
    for k in sorted(topics):
        text = topics[k].strip()
        docs += [c for c in (text[i : i + max_chars] for i in range(0, len(text), max_chars)) if len(c) > 200]
    rng = random.Random(0)  # mix topics, so that a prefix of the list is a fair sample
    rng.shuffle(docs)
    return docs[:n_docs] if n_docs else docs


def english_background(n_docs: int | None = None) -> list[str]:
    """A general-English background corpus (--background english): ~2,000-character runs of
    sentences from the 50 WikiText-2 test articles that the perplexity probe does not use
    (background/wikitext_english.jsonl, CC BY-SA 3.0; built by scripts/make_english_background.py,
    which drops every document that touches a probe). Interleaved across articles, so a
    prefix of the list samples many of them."""
    rows = read_jsonl(HERE / "background" / "wikitext_english.jsonl", ("text",))
    docs = [r["text"] for r in rows]
    return docs[:n_docs] if n_docs else docs


def mixed_background(n_docs: int | None = None) -> list[str]:
    """--background mix: Python documentation and general English, alternating (pydoc first),
    so any prefix holds both in equal parts."""
    a, b = background_text(), english_background()
    docs = [d for pair in zip(a, b) for d in pair]
    return docs[:n_docs] if n_docs else docs


def ngram_overlap(probe: list[str], other: list[str], n: int = 8) -> float:
    """Share of the probe's word n-grams (lower-cased, whitespace words) that also occur in
    `other`. 0.0: no n-word phrase of the probe appears anywhere in the other corpus."""
    def grams(doc: str) -> list[tuple[str, ...]]:
        w = doc.lower().split()
        return [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]

    seen = {g for d in other for g in grams(d)}
    probe_grams = [g for d in probe for g in grams(d)]
    return sum(g in seen for g in probe_grams) / max(1, len(probe_grams))


# ---------------------------------------------------------------- files in the hub's schemas


def read_jsonl(path: str | Path, required: tuple[str, ...] = (), types: dict | None = None) -> list[dict]:
    """Rows of a JSON Lines file (UTF-8; a leading byte-order mark is allowed); a missing file,
    a folder, text that is not UTF-8, bad JSON, a missing field or a field of the wrong type
    (types: field -> (allowed types, what it must be)) ends with one sentence naming the file,
    the row and the fix."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {path} does not exist; check --data-dir or the file path.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a JSON Lines file (one JSON object per line).")
    inputs.regular_file(path, fix="give a JSON Lines file (one JSON object per line)")  # a FIFO or a device would block
    rows = []
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ValueError(f"{path} cannot be read ({e.strerror}); check its permissions.") from None
    with f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}, row {n}: not UTF-8 text (byte {e.start + 1} of the row); save the file as "
                                 "UTF-8.") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(f"{path}, row {n}: not valid JSON; expected one object per line with fields {', '.join(required)}.") from None
            missing = [k for k in required if not isinstance(row, dict) or k not in row]
            if missing:
                raise ValueError(f"{path}, row {n}: missing field(s) {', '.join(missing)}; expected fields {', '.join(required)}.")
            for k, (allowed, what) in (types or {}).items():
                if isinstance(row, dict) and k in row and not isinstance(row[k], allowed):
                    raise ValueError(f"{path}, row {n}: {k} must be {what}, got {json.dumps(row[k])[:40]}.")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path} has no rows.")
    return rows


def _hub(name: str, config: str | None, split: str, local_hint: str):
    """Load a split from the Hugging Face Hub, or say in one sentence how to do without."""
    inputs.hub_needed(name, "dataset", f"{name}{'/' + config if config else ''} ({split})",  # offline: at once, no retries
                      f"pass --data-dir with {local_hint}")
    try:
        from datasets import load_dataset  # heavy (~3 s) and only for hub data

        return list(load_dataset(name, config, split=split))
    except Exception as e:  # offline, missing dataset, missing split: all end here
        raise RuntimeError(
            f"could not load {name}{'/' + config if config else ''} ({split}) from the hub "
            f"({type(e).__name__}); offline, pass --data-dir with {local_hint}."
        ) from None


TEXT_TYPES = {"text": (str, "text (a JSON string)")}  # a document's field in background files
MEDMCQA_FIELDS = ("question", "opa", "opb", "opc", "opd", "cop")
# the text fields of a MedMCQA row: strings (the explanation may be null, as on the hub)
MEDMCQA_TYPES = {**{k: (str, "text (a JSON string)") for k in ("question", "opa", "opb", "opc", "opd")},
                 "exp": ((str, type(None)), "text (a JSON string) or null")}
TRIVIA_FIELDS = ("question", "answer")
EVAL_HOLDOUT = 1000  # single-choice validation rows kept for evaluation when training falls back to validation
PAPER_LIMIT = 1000  # the seed paper scores the first 1,000 items of each set


def is_single_choice(r: dict) -> bool:
    return r.get("choice_type", "single") == "single"


def medmcqa_fallback(data_dir: str | None) -> bool:
    """True when --data-dir has MedMCQA validation rows but no train file: training then uses
    the validation rows after the first EVAL_HOLDOUT single-choice ones."""
    d = Path(data_dir) / "medmcqa" if data_dir else None
    return d is not None and not (d / "train.jsonl").exists() and (d / "validation.jsonl").exists()


def _holdout_end(rows: list[dict]) -> int:
    """Index just after the EVAL_HOLDOUT-th single-choice row (all rows if there are fewer)."""
    seen = 0
    for i, r in enumerate(rows):
        seen += is_single_choice(r)
        if seen == EVAL_HOLDOUT:
            return i + 1
    return len(rows)


def _check_cop(rows: list[dict], f: Path, allowed: tuple[int, ...]) -> list[dict]:
    """The rows, once every `cop` is an integer in `allowed` (one sentence naming the row if not)."""
    for n, r in enumerate(rows, 1):
        if type(r["cop"]) is not int or r["cop"] not in allowed:
            raise ValueError(f"{f}, row {n}: cop must be an integer 0..3 (0 = A), got {r['cop']!r}.")
    return rows


def medmcqa_rows(data_dir: str | None, split: str) -> list[dict]:
    """MedMCQA rows in the hub's schema (cop 0-based). Offline with no train file, training
    uses the validation rows after the first EVAL_HOLDOUT single-choice ones (which stay for
    evaluation), and says so. Every row's `cop` is checked (an integer 0..3, or -1 for the
    unlabelled test split)."""
    if data_dir is None:
        return _hub("openlifescienceai/medmcqa", None, split, "medmcqa/train.jsonl and medmcqa/validation.jsonl")
    d = Path(data_dir) / "medmcqa"
    fallback = split == "train" and medmcqa_fallback(data_dir)
    f = d / ("validation.jsonl" if fallback else f"{split}.jsonl")
    rows = inputs.check_measurable(_check_cop(read_jsonl(f, MEDMCQA_FIELDS, MEDMCQA_TYPES), f, (0, 1, 2, 3, -1)), f, False)
    if fallback:
        cut = _holdout_end(rows)
        rows = rows[cut:]
        print(f"note: {d}/train.jsonl is missing; training on validation rows {cut + 1}.. ({len(rows)} rows); "
              f"evaluation uses the rows before them (the first {EVAL_HOLDOUT} single-choice ones).")
    return rows


def medmcqa_eval_rows(data_dir: str | None, protocol: str, limit: int | None) -> list[dict]:
    """The validation rows a protocol scores. The paper protocol keeps single-choice rows FIRST
    and then takes the first `limit` (the seed paper's 1,000), so it scores 1,000 questions,
    not the single-choice ones among the first 1,000 rows. When training fell back to
    validation rows, only the rows before them are scored, and a limit that would reach the
    training rows is refused."""
    rows = medmcqa_rows(data_dir, "validation")
    cut = _holdout_end(rows) if medmcqa_fallback(data_dir) else len(rows)
    pool = rows[:cut]
    if protocol == "paper":
        pool = [r for r in pool if is_single_choice(r)]
    if not pool:
        raise ValueError(f"the MedMCQA validation rows hold no single-choice row for the {protocol} protocol to score; "
                         "check medmcqa/validation.jsonl under --data-dir.")
    if cut < len(rows) and limit is not None and limit > len(pool):  # rows after `cut` are training rows
        raise ValueError(f"a MedMCQA limit of {limit} reaches validation rows that training uses (there is no "
                         f"medmcqa/train.jsonl, so training falls back to validation rows); use a limit of at most {len(pool)}.")
    return pool[:limit]


def medmcqa_sources(data_dir: str | None, train_rows: int | None, background: str) -> dict:
    """Where a MedMCQA run's data comes from (hub ids, splits, limits), for the resolved config."""
    where = (lambda rel: f"{data_dir}/{rel}") if data_dir else (lambda rel: None)
    limit = f"first {train_rows} single-choice rows" if train_rows else "all single-choice rows"
    return {
        "train": where("medmcqa/train.jsonl") or f"openlifescienceai/medmcqa train ({limit})",
        "eval medmcqa": where("medmcqa/validation.jsonl") or "openlifescienceai/medmcqa validation",
        "eval triviaqa": where("trivia_qa/validation.jsonl") or "mandarjoshi/trivia_qa rc.nocontext validation",
        "eval wikitext": where("wikitext/") or "Salesforce/wikitext wikitext-2-raw-v1 test (harness), wikitext-103-v1 test (paper)",
        "background": (where("oasst1/train.jsonl") or "OpenAssistant/oasst1 train, English assistant turns") if background == "oasst1" else background,
    }


def trivia_rows(data_dir: str | None) -> list[dict]:
    if data_dir is None:
        return _hub("mandarjoshi/trivia_qa", "rc.nocontext", "validation", "trivia_qa/validation.jsonl")
    path = Path(data_dir) / "trivia_qa" / "validation.jsonl"
    rows = read_jsonl(path, TRIVIA_FIELDS, {"question": (str, "text (a JSON string)")})
    for n, r in enumerate(rows, 1):
        if not isinstance(r["answer"], dict) or not isinstance(r["answer"].get("aliases"), list):
            raise ValueError(f"{path}, row {n}: answer must be an object with an 'aliases' list (the hub's rc.nocontext schema).")
        if not r["question"].strip() or not any(isinstance(a, str) and a.strip() for a in r["answer"]["aliases"]):
            raise ValueError(f"{path}, row {n}: an empty question or no answer alias cannot measure anything; fix or remove that row.")
    return rows


# A WikiText article's top-level heading line (' = Title = ', not ' = = Section = = '); the harness
# protocol scores whole articles (eval.wikitext_documents).
WIKI_HEADING = re.compile(r" = [^=].*[^=] = \n")


def wikitext_rows(data_dir: str | None, config: str = "wikitext-2-raw-v1", split: str = "test") -> list[str]:
    """WikiText line rows ({"text"}), as Salesforce/wikitext serves them."""
    if data_dir is None:
        rows = _hub("Salesforce/wikitext", config, split, f"wikitext/{config}/{split}.jsonl")
    else:
        local = "wikitext-2-v1" if config == "wikitext-103-v1" else config  # they share their test set
        rows = read_jsonl(Path(data_dir) / "wikitext" / local / f"{split}.jsonl", ("text",))
    return [r["text"] for r in rows]


def oasst1_docs(n: int, data_dir: str | None) -> list[str]:
    """English assistant turns of OpenAssistant/oasst1 (the seed paper's background corpus)."""
    if data_dir is not None and (Path(data_dir) / "oasst1" / "train.jsonl").exists():
        rows = read_jsonl(Path(data_dir) / "oasst1" / "train.jsonl", ("text",), TEXT_TYPES)
    else:
        rows = _hub("OpenAssistant/oasst1", None, "train", "oasst1/train.jsonl (rows with text, role, lang)")
    docs = [r["text"] for r in rows if r.get("role", "assistant") == "assistant" and r.get("lang", "en") == "en"]
    return docs[:n]


def check_eval_data(data_dir: str | None, protocol: str, which=("medmcqa", "wikitext", "triviaqa"), limit: int | None = None) -> None:
    """Every file the harness or paper protocol will read (MedMCQA validation, TriviaQA,
    WikiText), read and checked now, before any model loads or any training starts; from the
    hub, that the hub can be reached. Raises ValueError (inputs.InputError) with one sentence."""
    if data_dir is not None:
        inputs.folder(data_dir, f"--data-dir {data_dir}", "give the folder holding the data files")
    if "medmcqa" in which:
        medmcqa_eval_rows(data_dir, protocol, limit)
    if "triviaqa" in which:
        trivia_rows(data_dir)
    if "wikitext" in which:
        lines = wikitext_rows(data_dir, "wikitext-103-v1" if protocol == "paper" else "wikitext-2-raw-v1")
        if protocol == "harness" and not any(WIKI_HEADING.fullmatch(x) for x in lines):
            raise ValueError(f"the WikiText rows under {data_dir or 'the hub'} hold no article (no top-level ' = Title = ' "
                             "line), so the harness protocol has nothing to score; give wikitext-2-raw-v1's test split.")
