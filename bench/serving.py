"""How the benchmarks measure what hnswlib serves: exact top-10 for recall, a fresh pinned hnswlib
process per file timing whole query batches on its thread's CPU clock, QPS at equal recall
interpolated between the bracketing ef, and per-repeat ratios summarised as median (min–max).
Shared by bench/serve and bench/cluster."""
import json, os, subprocess, sys
import numpy as np


def exact_top10(x, q, block=100_000):
    """Cosine top-10 of each query over every row, in blocks of rows."""
    xn_norm = np.linalg.norm(x, axis=1)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    best, best_d = np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
    for s in range(0, len(x), block):
        xb = np.asarray(x[s:s + block], dtype=np.float32) / xn_norm[s:s + block, None]
        d = -(qn @ xb.T)
        p = np.argpartition(d, 10, axis=1)[:, :10]
        cand = np.concatenate([best, p + s], 1)
        cd = np.concatenate([best_d, np.take_along_axis(d, p, 1)], 1)
        o = np.argsort(cd, 1, kind="stable")[:, :10]
        best, best_d = np.take_along_axis(cand, o, 1), np.take_along_axis(cd, o, 1)
    return best


SERVE = r"""
import json, sys, time, numpy as np, hnswlib
path, qpath, tpath, efs = sys.argv[1], sys.argv[2], sys.argv[3], [int(e) for e in sys.argv[4].split(",")]
q, t = np.load(qpath), np.load(tpath)
h = hnswlib.Index(space="cosine", dim=q.shape[1])
h.load_index(path)
h.set_num_threads(1)
h.set_ef(64)
h.knn_query(q, k=10)
out = []
for ef in efs:
    h.set_ef(ef)
    n, c0, w0 = 0, time.thread_time(), time.perf_counter()
    while True:
        labels, _ = h.knn_query(q, k=10)
        n += len(q)
        if time.perf_counter() - w0 >= 1.0:
            break
    cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
    rec = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, t)]))
    out.append({"ef": ef, "qps": n / cpu, "wall_qps": n / wall, "recall": rec})
print(json.dumps(out))
"""


def serve(path, qpath, tpath, efs):
    """One fresh hnswlib process, pinned to the last core, serving `path`: per ef, recall@10 and
    single-thread queries per second (whole batches for at least a second, one untimed warm-up)."""
    cmd = [sys.executable, "-c", SERVE, path, qpath, tpath, ",".join(map(str, efs))]
    if os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", str((os.cpu_count() or 1) - 1)] + cmd
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def value_at(curve, target, key):
    """`key` (qps or distances) at recall `target`, interpolated in log space between the bracketing
    ef; None outside the curve."""
    c = sorted(curve, key=lambda e: e["ef"])
    for a, b in zip(c, c[1:]):
        if a["recall"] <= target <= b["recall"] and b["recall"] > a["recall"]:
            f = (target - a["recall"]) / (b["recall"] - a["recall"])
            return float(np.exp(np.log(a[key]) + f * (np.log(b[key]) - np.log(a[key]))))
    return None


def qps_at(curve, target):
    """Queries per second at recall `target`."""
    return value_at(curve, target, "qps")


def cost_at(curve, target):
    """Distance computations per query at recall `target` (a search_cost curve)."""
    return value_at(curve, target, "distances")


def spread(values):
    """Median (min–max) of the values that exist, or n/a."""
    v = [x for x in values if x is not None]
    if not v:
        return "n/a"
    return f"{np.median(v):.3f} ({min(v):.3f}–{max(v):.3f})"


def median_or_none(values):
    v = [x for x in values if x is not None]
    return float(np.median(v)) if v else None


def search_cost(path, qpath, tpath, efs):
    """hnswlib's search replayed over `path` (bench/search_cost.c): per ef, the mean distance
    computations and layer-0 expansions per query, and recall@10. Raises if the replay's answers are
    not hnswlib's own (more than 1% of queries differ at ef 64)."""
    import hnswlib
    here = os.path.dirname(os.path.abspath(__file__))
    src, exe = os.path.join(here, "search_cost.c"), os.path.join(here, "out", "search_cost")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    q, t = np.load(qpath).astype(np.float32), np.load(tpath)
    qn = (q / (np.sqrt((q * q).sum(1, keepdims=True)) + 1e-30)).astype(np.float32)
    qfile, lfile = exe + f".{os.getpid()}.q", exe + f".{os.getpid()}.labels"
    qn.tofile(qfile)
    try:
        out = subprocess.run([exe, path, qfile, str(q.shape[1]), str(len(q)), "10", lfile] + [str(e) for e in efs],
                             check=True, capture_output=True, text=True).stdout
        labels = np.fromfile(lfile, dtype=np.int64).reshape(len(efs), len(q), 10)
    finally:
        for f in (qfile, lfile):
            if os.path.exists(f):
                os.remove(f)
    curve = json.loads(out)
    for e, row in enumerate(curve):
        row["recall"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels[e], t)]))
    h = hnswlib.Index(space="cosine", dim=q.shape[1])
    h.load_index(path)
    h.set_num_threads(1)
    check = efs.index(64) if 64 in efs else 0
    h.set_ef(efs[check])
    theirs, _ = h.knn_query(q, k=10)
    differ = np.mean([set(a) != set(b) for a, b in zip(theirs, labels[check])])
    if differ > 0.01:
        raise SystemExit(f"{path}: the replayed search differs from hnswlib's for {differ:.1%} of queries")
    return curve



def recall_qps_svg(panels, path, width=420, height=300, pad=50):
    """Recall@10 against single-thread QPS (log), as plain SVG: one panel per (title, curves), where
    curves maps a legend label to (colour, [(recall, qps), ...])."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(panels)}" height="{height}" '
             'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    for k, (title, curves) in enumerate(panels):
        ox = k * width
        curves = {label: (colour, [(a, b) for a, b in pts if a >= 0.5]) for label, (colour, pts) in curves.items()}
        pts = [p for _, c in curves.values() for p in c]
        if not pts:
            continue
        x0, x1 = min(p[0] for p in pts), 1.0
        y0, y1 = np.log10(min(p[1] for p in pts)), np.log10(max(p[1] for p in pts))
        X = lambda v: ox + pad + (v - x0) / (x1 - x0 + 1e-9) * (width - 2 * pad)
        Y = lambda v: height - pad - (np.log10(v) - y0) / (y1 - y0 + 1e-9) * (height - 2 * pad)
        parts.append(f'<text x="{ox + width / 2}" y="18" text-anchor="middle">{title}: recall@10 against queries/s (1 thread, log)</text>')
        parts.append(f'<line x1="{ox + pad}" y1="{height - pad}" x2="{ox + width - pad}" y2="{height - pad}" stroke="black"/>')
        parts.append(f'<line x1="{ox + pad}" y1="{pad}" x2="{ox + pad}" y2="{height - pad}" stroke="black"/>')
        for t in np.linspace(x0, x1, 5):
            parts.append(f'<text x="{X(t):.1f}" y="{height - pad + 14}" text-anchor="middle">{t:.2f}</text>')
        for e in range(int(np.floor(y0)), int(np.ceil(y1)) + 1):
            for mult in (1, 2, 5):
                v = mult * 10 ** e
                if y0 <= np.log10(v) <= y1:
                    parts.append(f'<text x="{ox + pad - 4}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        for j, (label, (colour, c)) in enumerate(curves.items()):
            d = " ".join(f"{'M' if i == 0 else 'L'}{X(a):.1f},{Y(b):.1f}" for i, (a, b) in enumerate(c))
            parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
            parts += [f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="2.5" fill="{colour}"/>' for a, b in c]
            parts.append(f'<text x="{ox + width - pad - 4}" y="{pad + 14 * j}" text-anchor="end" fill="{colour}">{label}</text>')
    parts.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(parts))
    print(f"plot: {path}")
