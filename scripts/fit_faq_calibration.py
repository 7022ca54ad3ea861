"""Refit the FAQ matcher's confidence (knowledge/matcher.py `_CALIB`) and show how
well it transfers: per set, and left-one-set-out (fit on all sets but one, measure
on the one left out).

Run by a developer after the ranking changes; CI does not run it. Sets: the
bundled Indonesian knowledge base with tests/data/id_eval.jsonl, and every folder
of /work/shared/data/faq-eval-style sets given on the command line.

Method: one logistic regression of "the top answer is right" on the features of
`Matcher.features` plus the margin relative to the score, each set weighing the
same, and wrong tops (including every unanswerable question) counted ``--neg``
times, because a wrong confident answer costs more than offering choices.

Usage: python scripts/fit_faq_calibration.py SET_DIR... [--neg 5] [--answer 0.75] [--suggest 0.35]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import Matcher, load_articles  # noqa: E402
from knowledge.articles import load_jsonl_articles  # noqa: E402
from knowledge.evaluation import load_queries  # noqa: E402
from knowledge.matcher import N_FEATURES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

Data = tuple[np.ndarray, np.ndarray, np.ndarray]  # design matrix, top right, unanswerable


def features_of(matcher: Matcher, queries: list[tuple[str, str | None]]) -> Data:
    rows, right, none = [], [], []
    for text, expected in queries:
        top, feats = matcher.features(text, 5)
        row = feats[0] if top else np.zeros(N_FEATURES)
        rel = row[1] / max(row[0], 1e-3)
        # the order Matcher.search uses: the first five features, relative margin, the rest
        rows.append([1.0, *row[:5], rel, *row[5:]])
        right.append(bool(top) and matcher.articles[top[0]].id == expected)
        none.append(expected is None)
    return np.asarray(rows), np.asarray(right, dtype=float), np.asarray(none)


def fit(sets: list[Data], neg: float, l2: float = 1e-3) -> np.ndarray:
    xs, ys, ws = [], [], []
    for x, y, _ in sets:
        w = np.where(y == 0, neg, 1.0)
        xs.append(x)
        ys.append(y)
        ws.append(w / w.sum())  # every set weighs the same
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    b = np.zeros(x.shape[1])
    for _ in range(50):  # Newton's method
        p = 1 / (1 + np.exp(-x @ b))
        grad = x.T @ (w * (p - y)) + l2 * b
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(b))
        b -= np.linalg.solve(hess, grad)
    return b


def figures(b: np.ndarray, data: Data, answer: float, suggest: float) -> dict[str, float | None]:
    x, y, none = data
    p = 1 / (1 + np.exp(-x @ b))
    sure = p >= answer
    return {
        "answered": round(float(sure.mean()), 4),
        "confident_wrong": round(float((sure & (y == 0)).mean()), 4),
        "confident_right": round(float((sure & (y == 1)).sum() / max(sure.sum(), 1)), 4),
        "no_match_recall": round(float((none & (p < suggest)).sum() / none.sum()), 4)
        if none.any()
        else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="*", type=Path)
    ap.add_argument("--neg", type=float, default=5.0)
    ap.add_argument("--answer", type=float, default=0.75)
    ap.add_argument("--suggest", type=float, default=0.35)
    args = ap.parse_args()
    data: dict[str, Data] = {
        "id": features_of(
            Matcher(load_articles(ROOT / "knowledge" / "articles")),
            load_queries(ROOT / "tests" / "data" / "id_eval.jsonl"),
        )
    }
    for d in args.sets:
        matcher = Matcher(load_jsonl_articles(d / "articles.jsonl"))
        data[d.name] = features_of(matcher, load_queries(d / "queries.jsonl"))
    b = fit(list(data.values()), args.neg)
    out: dict[str, object] = {"calib": [round(float(v), 3) for v in b]}
    out["fitted_on_all"] = {n: figures(b, d, args.answer, args.suggest) for n, d in data.items()}
    out["left_one_out"] = {
        n: figures(
            fit([d for m, d in data.items() if m != n], args.neg), d, args.answer, args.suggest
        )
        for n, d in data.items()
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
