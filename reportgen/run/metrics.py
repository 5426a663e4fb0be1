"""Final test metrics from logits, computed with scikit-learn (no hand-rolled formulas)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support, roc_auc_score

#: Equal-width confidence bins for the reliability diagram and ECE (Guo et al. 2017, "On Calibration
#: of Modern Neural Networks", eq. 3, with M = 15 as there).
CALIBRATION_BINS = 15
#: How many of the least confident correct predictions a result keeps (for the prediction pages).
LEAST_CONFIDENT = 30


def test_metrics(logits: torch.Tensor, y: torch.Tensor) -> dict:
    """Metrics of float logits (N, K) against int labels (N,) in 0 … K−1 (K = 10 on MNIST).

    Returns ``accuracy`` (fraction), ``loss`` (mean cross-entropy, nats), ``macro_f1``,
    ``roc_auc_ovr`` (one-vs-rest macro ROC-AUC on softmax probabilities; NaN if a class is absent),
    ``per_class`` (``{digit: {precision, recall, f1, support}}``), ``confusion_matrix`` (K×K counts,
    rows = true, columns = predicted), ``misclassified`` (test indices, ascending) with their
    ``misclassified_pred`` and ``misclassified_conf`` (max softmax probability),
    ``least_confident_correct`` (the ``LEAST_CONFIDENT`` correctly classified test indices of lowest
    confidence, lowest first) with ``least_confident_conf``, ``ece`` and ``calibration`` bins
    ``{count, accuracy, confidence}``.
    """
    logits = logits.float().cpu()
    y_t = y.cpu()
    loss = F.cross_entropy(logits, y_t).item()
    prob = torch.softmax(logits, 1).numpy().astype(np.float64)
    y_true = y_t.numpy()
    y_pred = prob.argmax(1)
    labels = list(range(logits.shape[1]))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    try:
        auc = float(roc_auc_score(y_true, prob, multi_class="ovr", labels=labels))
    except ValueError:  # a class missing from a small subset: AUC undefined
        auc = float("nan")
    wrong = np.flatnonzero(y_pred != y_true)
    conf = prob.max(1)
    right = np.flatnonzero(y_pred == y_true)
    unsure = right[np.argsort(conf[right], kind="stable")[:LEAST_CONFIDENT]]
    return {
        "accuracy": float((y_pred == y_true).mean()),
        "loss": loss,
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "roc_auc_ovr": auc,
        "per_class": {str(c): {"precision": float(p[c]), "recall": float(r[c]), "f1": float(f[c]),
                               "support": int(s[c])} for c in labels},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "misclassified": wrong.tolist(),
        "misclassified_pred": y_pred[wrong].tolist(),
        "misclassified_conf": [round(float(c), 5) for c in conf[wrong]],
        "least_confident_correct": unsure.tolist(),
        "least_confident_conf": [round(float(c), 5) for c in conf[unsure]],
        **calibration(conf, y_pred == y_true),
    }


def calibration(conf: np.ndarray, correct: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Expected calibration error and per-bin ``{count, accuracy, confidence}`` (Guo et al. 2017).

    ``conf``: max softmax probability per image, float (N,); ``correct``: bool (N,).
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    out, ece = [], 0.0
    for b in range(bins):
        m = which == b
        n = int(m.sum())
        acc = float(correct[m].mean()) if n else None
        cf = float(conf[m].mean()) if n else None
        if n:
            ece += n / len(conf) * abs(acc - cf)
        out.append({"count": n, "accuracy": acc, "confidence": cf})
    return {"ece": float(ece), "calibration": out}
