"""FAQ matcher speed on a synthetic 5,000-article knowledge base.

Prints progress lines and, last, one JSON object with p50_ms/p99_ms (per query,
search + decision, wall clock), cpu_p50_ms/cpu_p99_ms (the same in this thread's
CPU time, which other load on the machine does not inflate), the 1-minute load
average while it ran, and reload_s (YAML files -> articles -> ready Matcher).
Usage: python bench/faq_speed.py [--articles 5000] [--queries 2000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the target says

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from knowledge import Matcher, load_articles  # noqa: E402
from knowledge.normalize import _ROOT_LIST  # noqa: E402

IT_WORDS = str.split(
    "akun sandi sso vpn wifi printer laptop surel aplikasi server jaringan lisensi "
    "tte eoffice simpeg presensi zoom teams drive cadangan virus phishing portal situs "
    "tiket gangguan pemeliharaan login error lambat tidak bisa gagal lupa reset pasang"
)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def synthetic_kb(n: int, rng: random.Random) -> list[dict]:
    pool = [w for w in _ROOT_LIST if w.isalpha() and 3 < len(w) < 11]
    words = rng.sample(pool, 6000) + list(IT_WORDS) * 20

    def sentence(lo: int, hi: int) -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))

    return [
        {
            "id": f"syn-{i:05d}",
            "question": sentence(5, 10),
            "alternates": [sentence(3, 8) for _ in range(4)],
            "answer": "\n".join(f"{s}. {sentence(6, 14)}" for s in range(1, 6)),
            "service": None,
            "tags": ["sintetis"],
            "owner": "bench@example.go.id",
            "last_reviewed": "2026-11-01",
        }
        for i in range(n)
    ]


def queries(kb: list[dict], n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        art = rng.choice(kb)
        words = rng.choice([art["question"], *art["alternates"]]).split()
        if len(words) > 3 and rng.random() < 0.5:
            words.pop(rng.randrange(len(words)))
        words = [_typo(w, rng) if rng.random() < 0.2 else w for w in words]
        if rng.random() < 0.15:
            words = rng.sample(IT_WORDS, 4)  # unrelated, mostly no-match
        out.append(" ".join(words))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    kb = synthetic_kb(args.articles, rng)
    with tempfile.TemporaryDirectory() as tmp:
        for part in range(10):
            chunk = kb[part::10]
            Path(tmp, f"kb_{part}.yaml").write_text(yaml.safe_dump(chunk, allow_unicode=True))
        t0 = time.perf_counter()
        articles = load_articles(tmp)
        t_load = time.perf_counter() - t0
        matcher = Matcher(articles)
        t_cold = time.perf_counter() - t0
        t1 = time.perf_counter()
        matcher.rebuild(load_articles(tmp))
        t_reload = time.perf_counter() - t1
    print(f"load {t_load:.2f}s, first build total {t_cold:.2f}s, reload {t_reload:.2f}s")
    t2 = time.perf_counter()
    matcher.add_alternate(articles[0].id, "frasa baru dari pengguna")
    t_add = time.perf_counter() - t2
    qs = queries(kb, args.queries, rng)
    for q in qs[:50]:
        matcher.decide(q)  # warm caches the way a running bot has them
    times, cpu = [], []
    for q in qs:
        t, c = time.perf_counter(), time.thread_time()
        matcher.decide_from(matcher.search(q, k=5))
        cpu.append((time.thread_time() - c) * 1000)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    cpu.sort()
    result = {
        "articles": len(articles),
        "queries": len(qs),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
        "max_ms": round(times[-1], 3),
        # CPU time of this thread: what the query costs, without the waits for a core
        # that other processes on a loaded machine add to the wall-clock figures
        "cpu_p50_ms": round(statistics.median(cpu), 3),
        "cpu_p99_ms": round(cpu[int(0.99 * (len(cpu) - 1))], 3),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "reload_s": round(max(t_cold, t_reload), 3),
        "add_alternate_s": round(t_add, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
