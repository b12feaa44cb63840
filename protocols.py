"""protocols.py: the two outside definitions of the paper's benchmarks, MedMCQA, WikiText and
TriviaQA: `harness` (lm-evaluation-harness's task definitions) and `paper` (the seed paper's
evaluation code), each as written there (docs/METHOD.md, "Evaluation protocols").
`protocol_suite` runs them; eval.py chooses which protocol a run reports.
"""
from __future__ import annotations

import math
import re
import string

import progress
import tasks
from scoring import greedy_generate, letter_accuracy, rolling_loglik, shared_prompt_logprobs
from settings import protocol_limit


def normalize_harness(text: str) -> str:
    """TriviaQA exact-match normalisation of lm-evaluation-harness: lowercase, delete every
    string.punctuation character, strip. (No article removal: 'The Beatles' stays 'the beatles'.)"""
    return text.lower().translate(str.maketrans("", "", string.punctuation)).strip()


def normalize_paper(text: str) -> str:
    """SQuAD-style normalisation (lowercase, no punctuation, no articles, single spaces)."""
    text = normalize_harness(text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def wikitext_detokenize(text: str) -> str:
    """Undo WikiText's tokenisation the way the harness's wikitext task does before scoring."""
    s = text.replace("s '", "s'")
    s = re.sub(r"/' [0-9]/", r"/'[0-9]/", s)
    for a, b in ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" : ", ": "), (" ; ", "; "), (" . ", ". "),
                 (" ! ", "! "), (" ? ", "? "), (" , ", ", ")):
        s = s.replace(a, b)
    s = re.sub(r"\(\s*([^\)]*?)\s*\)", r"(\1)", s)
    s = re.sub(r"\[\s*([^\]]*?)\s*\]", r"[\1]", s)
    s = re.sub(r"{\s*([^}]*?)\s*}", r"{\1}", s)
    s = re.sub(r"\"\s*([^\"]*?)\s*\"", r'"\1"', s)
    s = re.sub(r"'\s*([^']*?)\s*'", r"'\1'", s)
    for a, b in (("= = = =", "===="), ("= = =", "==="), ("= =", "=="), (" " + chr(176) + " ", chr(176)),
                 (" \n", "\n"), ("\n ", "\n"), (" N ", " 1 "), (" 's", "'s")):
        s = s.replace(a, b)
    return s


def wikitext_documents(lines: list[str]) -> list[str]:
    """Pages as lm-evaluation-harness reads them (EleutherAI/wikitext_document_level), rebuilt
    from the line-level rows: one article from its top-level ' = Title = ' heading (not
    ' = = Sub = = ') to the next, a blank line kept as ' ' + newline (the raw file's blank
    line; the line rows carry it as ''), the lines joined; as in the raw file's split, every
    page but the file's last lacks the newline after its last line. Over the 62 pages of the
    wikitext-2-raw-v1 test set this gives the harness's 1,290,527 bytes (dropping the blank
    lines gave 1,287,656, and other text to the model)."""
    docs: list[list[str]] = []
    for line in lines:
        if tasks.WIKI_HEADING.fullmatch(line):
            docs.append([])
        if docs:
            docs[-1].append(line if line else " \n")
    pages = ["".join(d) for d in docs]
    return [p[:-1] if i < len(pages) - 1 and p.endswith("\n") else p for i, p in enumerate(pages)]


def medmcqa_harness(model, tok, rows: list[dict]) -> dict:
    r = letter_accuracy(model, tok, [tasks.medmcqa_harness_prompt(x) for x in rows], [x["cop"] for x in rows])
    return {"medmcqa_acc": r["acc"], "n": r["n"]}


def medmcqa_paper(model, tok, rows: list[dict]) -> dict:
    """The seed paper's rule: candidates ' X. {option}' after a 'Medical exam question' prompt,
    ranked by mean per-token log-likelihood."""
    rows = [r for r in rows if r.get("choice_type", "single") == "single"]
    prompts, choices = zip(*(tasks.medmcqa_paper_prompt(r) for r in rows)) if rows else ((), ())
    lp = shared_prompt_logprobs(model, tok, list(prompts), list(choices), mean=True)  # each prompt run once
    correct = sum(int(max(range(4), key=lambda j: lp[i][j]) == r["cop"]) for i, r in enumerate(rows))
    return {"medmcqa_acc": correct / len(rows), "n": len(rows)}


def wikitext_harness(model, tok, lines: list[str], max_length: int = 2048, limit: int | None = None) -> dict:
    """Document-level rolling perplexity on wikitext-2-raw (harness): word, byte, bits per byte."""
    pages = wikitext_documents(lines)[:limit]
    if not pages:
        raise ValueError("no WikiText documents found (expected top-level ' = Title = ' lines).")
    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    ll = rolling_loglik(model, tok, [wikitext_detokenize(p) for p in pages], max_length, prefix_token=prefix, batch_size=1)["loglik"]
    words = sum(len(re.split(r"\s+", p)) for p in pages)
    nbytes = sum(len(p.encode("utf-8")) for p in pages)
    byte_ppl = math.exp(-ll / nbytes)
    return {"wikitext_word_ppl": math.exp(-ll / words), "wikitext_byte_ppl": byte_ppl,
            "wikitext_bits_per_byte": math.log2(byte_ppl), "n": len(pages), "window": max_length}


def wikitext_paper(model, tok, lines: list[str], limit: int = 1000) -> dict:
    """Seed paper: first `limit` non-empty lines joined by blank lines, 1024/512 sliding window."""
    text = "\n\n".join([l.strip() for l in lines if l.strip()][:limit])
    r = rolling_loglik(model, tok, [text], 1024, stride=512, batch_size=4)
    return {"wikitext_ppl": math.exp(-r["loglik"] / r["tokens"]), "tokens": r["tokens"], "window": "1024/512"}


def triviaqa_harness(model, tok, rows: list[dict]) -> dict:
    preds = greedy_generate(model, tok, [f"Question: {r['question']}?\nAnswer:" for r in rows], 32, stop=("\n", ".", ","))
    em = [any(normalize_harness(p) == normalize_harness(a) for a in r["answer"]["aliases"]) for p, r in zip(preds, rows)]
    return {"triviaqa_em": sum(em) / len(rows), "n": len(rows)}


def triviaqa_paper(model, tok, rows: list[dict]) -> dict:
    preds = greedy_generate(model, tok, [f"Question: {r['question']}\nAnswer:" for r in rows], 32)
    hit = [any(normalize_paper(a) in normalize_paper(p) for a in r["answer"]["aliases"] if normalize_paper(a)) for p, r in zip(preds, rows)]
    return {"triviaqa_acc": sum(hit) / len(rows), "n": len(rows)}




def protocol_suite(model, tok, cfg: dict, protocol: str, limit: int | None = None,
                   which=("medmcqa", "wikitext", "triviaqa")) -> dict:
    """MedMCQA, WikiText and TriviaQA under the `harness` or the `paper` protocol.
    The paper protocol uses the first 1,000 items of each set (MedMCQA: single-choice ones)
    unless `limit` says otherwise."""
    paper = protocol == "paper"
    limit = protocol_limit(protocol, limit)
    out: dict = {"n": {}}
    dd = cfg.get("data_dir")
    if "medmcqa" in which:
        with progress.phase("MedMCQA"):
            r = (medmcqa_paper if paper else medmcqa_harness)(model, tok, tasks.medmcqa_eval_rows(dd, protocol, limit))
        out["medmcqa_acc"], out["n"]["medmcqa"] = r["medmcqa_acc"], r["n"]
    if "wikitext" in which:
        with progress.phase("WikiText"):
            if paper:
                r = wikitext_paper(model, tok, tasks.wikitext_rows(dd, "wikitext-103-v1"), limit=limit)
                out["n"]["wikitext_tokens"] = r["tokens"]
            else:
                r = wikitext_harness(model, tok, tasks.wikitext_rows(dd), max_length=cfg.get("eval_window", 2048), limit=limit)
                out["n"]["wikitext_docs"] = r["n"]
        out.update({k: v for k, v in r.items() if k.startswith("wikitext_")})
        out["wikitext_window"] = r["window"]
    if "triviaqa" in which:
        key = "triviaqa_acc" if paper else "triviaqa_em"
        with progress.phase("TriviaQA"):
            r = (triviaqa_paper if paper else triviaqa_harness)(model, tok, tasks.trivia_rows(dd)[:limit])
        out[key], out["n"]["triviaqa"] = r[key], r["n"]
    out["data"] = dd or "hub"
    return out
