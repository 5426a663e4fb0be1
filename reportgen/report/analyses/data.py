"""Analyses of the data set itself (``spec.DATA_ANALYSES``): they read the four md5-verified MNIST IDX
files through :class:`Context` (numpy only; no torch, no run results), so an ``explore`` study shows
them without training anything. Each returns its template's values plus ``summary``, one sentence
that an explore study's answer is made of.

Splits are those of :meth:`reportgen.data.mnist.MNIST.split` with the study's ``data.val_size``: ``val`` is
the last ``val_size`` images of the training file, ``train`` the images before them, ``test`` the
t10k file. Images are uint8 (N, 28, 28), pixel 0 = background; labels uint8 (N,).
File format: LeCun & Cortes, "The MNIST database" (IDX: big-endian magic, dimensions, raw bytes).
"""
from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats

from reportgen.data import mnist as data
from reportgen.report.draw import figures
from reportgen.report.judge.words import count
from reportgen.report.analyses.context import Context

#: The normalisation constants most MNIST code types in: ``transforms.Normalize((0.1307,), (0.3081,))``
#: (pytorch/examples, mnist/main.py).
CUSTOMARY_MEAN, CUSTOMARY_STD = 0.1307, 0.3081

#: name → (IDX magic: 0x0000_08_<ndim>, 0x08 = unsigned byte; dimensions after the first).
IDX_FILES = {"train-images-idx3-ubyte": (2051, (28, 28)), "train-labels-idx1-ubyte": (2049, ()),
             "t10k-images-idx3-ubyte": (2051, (28, 28)), "t10k-labels-idx1-ubyte": (2049, ())}


def splits(ctx: Context) -> dict[str, tuple[np.ndarray, np.ndarray, str, int]]:
    """``{"train", "val", "test"}`` → (images (N, 28, 28) uint8, labels (N,) uint8, file, index in the
    file of the first image): the three disjoint splits every run of the study's ``val_size`` sees."""
    n_fit = max(len(ctx.train_images) - ctx.sr.spec.study.data.val_size, 0)
    return {"train": (ctx.train_images[:n_fit], ctx.train_labels[:n_fit], "train", 0),
            "val": (ctx.train_images[n_fit:], ctx.train_labels[n_fit:], "train", n_fit),
            "test": (ctx.test_images, ctx.test_labels, "t10k", 0)}


def _balance(name: str, labels: np.ndarray) -> dict[str, Any]:
    """Per-digit counts of ``labels`` and how far they are from uniform: max/min count ratio and
    Pearson's chi-square goodness of fit against 10 equal classes (``scipy.stats.chisquare``, 9 df)."""
    counts = np.bincount(labels, minlength=10)[:10]  # labels outside 0–9 are data_checks' business
    share = 100 * counts / max(counts.sum(), 1)
    chi = stats.chisquare(counts) if counts.sum() else None
    return {"split": name, "images": len(labels), "counts": counts.tolist(),
            "rarest": int(counts.argmin()), "commonest": int(counts.argmax()),
            "min_share": float(share.min()), "max_share": float(share.max()),
            "ratio": float(counts.max() / counts.min()) if counts.min() else float("inf"),
            "chi2": float(chi.statistic) if chi else float("nan"), "p": p_text(chi.pvalue if chi else float("nan"))}


def p_text(p: float) -> str:
    """A p-value for a page: 2 significant digits, '< 1e-300' where it underflows to 0."""
    return "—" if not np.isfinite(p) else "< 1e-300" if p == 0 else f"{p:.2g}"


def split_overview(ctx: Context) -> dict[str, Any]:
    """Images and label counts per split (table and bar chart), class balance, and which images the
    validation split is, with a chi-square test of homogeneity of its class mix against train's."""
    sp = splits(ctx)
    rows = [_balance("training file", ctx.train_labels)] + [_balance(n, lab) for n, (_, lab, _, _) in sp.items()]
    path, url = ctx.figure("split_counts.png")
    figures.split_counts({r["split"]: r["counts"] for r in rows[1:]}, path, "MNIST splits as every run sees them")
    train, val = rows[1], rows[2]
    table = np.array([train["counts"], val["counts"]])
    homog = stats.chi2_contingency(table[:, table.sum(0) > 0]) if table.sum(1).all() else None
    val_share = np.array(val["counts"]) / max(val["images"], 1)
    train_share = np.array(train["counts"]) / max(train["images"], 1)
    start = sp["val"][3]
    validation = {"size": val["images"], "start": start, "stop": start + val["images"], "fit": train["images"],
                  "max_diff_pp": float(100 * np.abs(val_share - train_share).max()),
                  "p": p_text(homog.pvalue if homog else float("nan")),
                  "chi2": float(homog.statistic) if homog else float("nan")}
    whole = rows[0]
    summary = (f"MNIST has {whole['images']:,} training and {rows[3]['images']:,} test images; every run fits on the "
               f"first {train['images']:,} training images and validates on the last {val['images']:,}. Classes are "
               f"{_degree(whole['ratio'])}: in the training file digit {whole['rarest']} is rarest ({whole['min_share']:.1f} %) "
               f"and {whole['commonest']} commonest ({whole['max_share']:.1f} %), a ratio of {whole['ratio']:.2f} "
               f"(χ² against uniform {whole['chi2']:.0f}, p {_rel(whole['p'])}).")
    return {"rows": rows, "url": url, "validation": validation, "summary": summary,
            "default_val_size": data_default_val_size()}


def _degree(ratio: float) -> str:
    """Words for a max/min class-count ratio; the cut at 1.5 is this report's convention (the table
    gives the ratio itself), not a standard threshold."""
    return "exactly balanced" if ratio == 1 else "mildly imbalanced" if ratio < 1.5 else "imbalanced"


def _rel(p: str) -> str:
    return p if p.startswith("<") else f"= {p}"


def data_default_val_size() -> int:
    from reportgen.spec.config import Data

    return int(Data.model_fields["val_size"].default)


def data_checks(ctx: Context) -> dict[str, Any]:
    """Every check of the files' integrity and of invalid values, each with the number of failures
    (0 included): IDX magic, dimensions, size, label range, pixel range, blank images."""
    headers, bad_magic, bad_shape, bad_size = {}, 0, 0, 0
    for name, (magic_want, inner) in IDX_FILES.items():
        blob = ctx.raw_bytes(name)
        magic = int.from_bytes(blob[:4], "big")
        ndim = magic & 0xFF
        dims = struct.unpack(f">{ndim}I", blob[4:4 + 4 * ndim]) if len(blob) >= 4 + 4 * ndim else ()
        headers[name] = {"magic": magic, "dims": dims, "bytes": len(blob)}
        bad_magic += magic != magic_want
        bad_shape += tuple(dims[1:]) != inner
        bad_size += len(blob) != 4 + 4 * ndim + int(np.prod(dims, dtype=np.int64))
    pairs = (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    bad_shape += sum(headers[i]["dims"][:1] != headers[lab]["dims"][:1] for i, lab in pairs)
    labels = np.concatenate([ctx.train_labels, ctx.test_labels])
    images = np.concatenate([ctx.train_images, ctx.test_images])
    flat = images.reshape(len(images), -1)
    blank = int(np.count_nonzero(flat.max(1) == flat.min(1)))
    out_of_range = int(np.count_nonzero(labels > 9))
    checks = [
        ("md5 of each file equals the published checksum (checked before anything is read)", "4 files", 0),
        ("IDX magic number: 2051 for images, 2049 for labels (0x08: unsigned bytes)", "4 files", bad_magic),
        ("dimensions: images N × 28 × 28, labels N, the same N in each image/label pair", "4 files", bad_shape),
        ("file size = header + N × 784 (images) or N (labels) bytes: no truncation, no trailing bytes", "4 files", bad_size),
        ("labels outside 0–9", f"{len(labels):,} labels", out_of_range),
        ("pixels outside 0–255, NaN or infinite: impossible, the files store unsigned bytes", f"{flat.size:,} pixels", 0),
        ("blank images (all pixels equal, e.g. all 0)", f"{len(images):,} images", blank),
    ]
    total = sum(c for _, _, c in checks)
    summary = (f"{'No' if not total else total} invalid or missing value{'s' if total != 1 else ''} "
               f"in {len(images):,} images and {len(labels):,} labels ({len(checks)} checks).")
    return {"checks": [{"what": w, "scope": s, "found": c} for w, s, c in checks], "total": total,
            "headers": [{"file": n, **h} for n, h in headers.items()], "summary": summary}


def _moments(images: np.ndarray) -> dict[str, Any]:
    """Pixel statistics of uint8 images scaled to [0, 1], exact from the 256-bin value histogram:
    mean, population std (ddof = 0, as the customary constants are), min, max, share of 0 and 255."""
    hist = np.bincount(images.reshape(-1), minlength=256).astype(np.float64)
    v = np.arange(256) / 255.0
    n = hist.sum()
    mean = float(hist @ v / n)
    std = float(np.sqrt(max(hist @ (v - mean) ** 2 / n, 0.0)))
    seen = np.flatnonzero(hist)
    return {"n": int(n), "images": len(images), "mean": mean, "std": std, "min": int(seen.min()), "max": int(seen.max()),
            "zero": float(hist[0] / n), "full": float(hist[255] / n), "hist": hist}


def pixel_statistics(ctx: Context) -> dict[str, Any]:
    """Pixel value range and statistics per split; the normalisation constants (mean, std of the
    training file's pixels / 255) computed here against the customary 0.1307 / 0.3081 and the
    constants ``reportgen.data.mnist`` normalises with; a histogram of pixel values."""
    groups = {"training file": ctx.train_images, **{n: img for n, (img, _, _, _) in splits(ctx).items()}}
    rows = [{"split": n, **_moments(img)} for n, img in groups.items()]
    whole = rows[0]
    constants = [{"what": "computed here: training file (all of it)", "mean": whole["mean"], "std": whole["std"]},
                 {"what": "computed here: train split only (without val)", "mean": rows[1]["mean"], "std": rows[1]["std"]},
                 {"what": "customary (pytorch/examples mnist)", "mean": CUSTOMARY_MEAN, "std": CUSTOMARY_STD},
                 {"what": "`reportgen.data.mnist.MEAN, STD` (what every run uses)", "mean": data.MEAN, "std": data.STD}]
    for c in constants:
        c["d_mean"], c["d_std"] = c["mean"] - whole["mean"], c["std"] - whole["std"]
    path, url = ctx.figure("pixel_histogram.png")
    hists = {f"{r['split']} ({r['images']:,})": {"counts": r["hist"].tolist(), "low": -0.5, "high": 255.5}
             for r in (rows[0], rows[3])}
    figures.histograms({"Pixel values (0 = background)": hists}, path, cols=1, xlabel="pixel value (uint8)")
    agree = {c["what"]: round(c["mean"], 4) == round(whole["mean"], 4) and round(c["std"], 4) == round(whole["std"], 4)
             for c in constants[2:]}
    for c in constants:
        c["agree"] = agree.get(c["what"])
    summary = (f"Pixels range over {whole['min']}–{whole['max']}; {100 * whole['zero']:.1f} % of them are 0. Scaled to [0, 1] the "
               f"training file's pixels have mean {whole['mean']:.4f} and std {whole['std']:.4f}: "
               + ("to four decimals the customary 0.1307 / 0.3081, which every run normalises with." if all(agree.values())
                  else f"every run normalises with {data.MEAN} / {data.STD} (customary: {CUSTOMARY_MEAN} / {CUSTOMARY_STD})."))
    for r in rows:
        del r["hist"]
    return {"rows": rows, "constants": constants, "url": url, "summary": summary}


def class_images(ctx: Context, per_class: int = 10) -> dict[str, Any]:
    """The first ``per_class`` training-file images of each digit (file order, no sampling) and the
    mean image of each digit over the whole training file, with its mean pixel value ("ink")."""
    images, labels = ctx.train_images, ctx.train_labels
    firsts = [np.flatnonzero(labels == d)[:per_class] for d in range(10)]
    grid_idx = [i for f in firsts for i in f]
    path, url = ctx.figure("samples_per_class.png")
    figures.image_grid(images[grid_idx], [f"{labels[i]} · #{i}" for i in grid_idx], path,
                       f"The first {per_class} training images of each digit (label · index in the training file)",
                       cols=per_class, tight=True)
    rows, means = [], []
    for d in range(10):
        sel = images[labels == d]
        mean = sel.mean(0) / 255.0 if len(sel) else np.zeros((28, 28))
        means.append(mean)
        rows.append({"digit": d, "images": len(sel), "ink": float(mean.mean()),
                     "nonzero": float(np.count_nonzero(sel) / max(sel.size, 1))})
    mpath, murl = ctx.figure("mean_image_per_class.png")
    figures.image_grid(np.array(means), [f"{r['digit']} (n = {r['images']:,})" for r in rows], mpath,
                       "Mean training image of each digit (pixel / 255, each on its own scale)")
    have = [r for r in rows if r["images"]]
    lo, hi = min(have, key=lambda r: r["ink"]), max(have, key=lambda r: r["ink"])
    summary = (f"Digit {lo['digit']} carries the least ink (mean pixel {lo['ink']:.3f}) and {hi['digit']} the most "
               f"({hi['ink']:.3f}).")
    return {"grid_url": url, "mean_url": murl, "rows": rows, "per_class": per_class, "summary": summary}


def duplicate_groups(named: dict[str, np.ndarray]) -> list[list[tuple[str, int]]]:
    """Groups of byte-identical images across the arrays of ``named`` (each (N, 28, 28) uint8), as
    ``[(name, index), …]`` with at least two members. Images are grouped by the SHA-256 of their
    bytes, then compared byte for byte, so a hash collision cannot make a false duplicate."""
    by_hash: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for name, images in named.items():
        for i, img in enumerate(images):
            by_hash[hashlib.sha256(img.tobytes()).digest()].append((name, i))
    groups = []
    for members in by_hash.values():
        while len(members) > 1:  # split a (theoretical) collision into truly equal groups
            first = named[members[0][0]][members[0][1]]
            same = [m for m in members if np.array_equal(named[m[0]][m[1]], first)]
            if len(same) > 1:
                groups.append(same)
            members = [m for m in members if m not in same]
    return sorted(groups, key=lambda g: [(list(named).index(n), i) for n, i in g])


def duplicates(ctx: Context, shown: int = 8) -> dict[str, Any]:
    """Exact duplicate images within each split and across each pair of splits: pairs of identical
    images, the images involved, pairs whose labels differ, and up to ``shown`` groups as pictures."""
    sp = splits(ctx)
    names = list(sp)
    groups = duplicate_groups({n: img for n, (img, _, _, _) in sp.items()})
    rows = []
    for a_i, a in enumerate(names):
        for b in names[a_i:]:
            pairs = involved = conflicts = 0
            for g in groups:
                ga, gb = [i for n, i in g if n == a], [i for n, i in g if n == b]
                found = [(x, y) for x in ga for y in gb if a != b or x < y]
                pairs += len(found)
                involved += len({(a, x) for x, _ in found} | {(b, y) for _, y in found})
                conflicts += sum(sp[a][1][x] != sp[b][1][y] for x, y in found)
            rows.append({"where": f"within {a}" if a == b else f"{a} × {b}", "pairs": pairs, "images": involved,
                         "conflicts": int(conflicts)})
    examples, url = [], None

    def ident(n: str, i: int) -> str:
        return f"{n} · {sp[n][2]} #{sp[n][3] + i}"

    for g in groups[:shown]:
        examples.append({"members": [ident(n, i) for n, i in g], "labels": [int(sp[n][1][i]) for n, i in g]})
    if groups:
        shown_groups = groups[:shown]
        imgs = np.array([sp[n][0][i] for g in shown_groups for n, i in g[:2]])
        caps = [f"{n} {sp[n][2]} #{sp[n][3] + i}\nlabel {sp[n][1][i]}" for g in shown_groups for n, i in g[:2]]
        path, url = ctx.figure("duplicates.png")
        figures.image_grid(imgs, caps, path, "Identical images, in pairs (split, file and index, label)", cols=8)
    total = sum(r["pairs"] for r in rows)
    n_img = sum(len(img) for img, _, _, _ in sp.values())
    summary = (f"No two of the {n_img:,} images are byte-identical, within or across splits." if not total else
               f"{count(total, 'pair')} of byte-identical images among the {n_img:,} ({count(len(groups), 'group')}); "
               f"{sum(r['pairs'] for r in rows if 'within' not in r['where'])} of the pairs cross splits.")
    return {"rows": rows, "groups": len(groups), "examples": examples, "url": url, "total": total,
            "images": n_img, "summary": summary}
