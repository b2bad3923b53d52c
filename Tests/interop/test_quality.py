"""Every run says how good it is: the `quality` section of training_metadata.json recomputed with
numpy and hnswlib, drift against the previous model, the quality.max_drift limit (exit 4, nothing
committed), report.html in a headless browser, and `trainer report`."""
import hashlib, json, os, re, shutil, subprocess
import hnswlib
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import DELETE, config, trainer

ROOT = os.path.join(os.path.dirname(__file__), "../..")
LEVELS = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]


def train(cfg, *extra, check=True):
    return trainer("train", "--config", cfg, *extra, check=check)


def unescape(s):
    return re.sub(r"\\[tnr\\]", lambda m: {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}[m.group(0)], s)


def read_labels(models):
    return [unescape(line.split("\t", 1)[1]) for line in (models / "labels.tsv").read_text().split("\n") if line]


def read_state(models):
    rows = [line.split("\t") for line in (models / "item_state.tsv").read_text().split("\n") if line]
    return [(unescape(r[1]), r[2], r[3] == "1") for r in rows]


def read_sample(models):
    """quality_sample.tsv as (label, item id, neighbour ids, similarities)."""
    out = []
    for line in (models / "quality_sample.tsv").read_text().split("\n"):
        if not line:
            continue
        f = line.split("\t")
        m = (len(f) - 2) // 2
        out.append((int(f[0]), unescape(f[1]), [unescape(x) for x in f[2:2 + m]], [float(x) for x in f[2 + m:]]))
    return out


def numpy_neighbours(models, labels):
    """Exact cosine top-11 of each label among the live labels, with numpy: (truth top-10 with the
    item itself, the top-10 others' ids, their similarities)."""
    x = np.load(models / "vectors.npy")
    ids = read_labels(models)
    live = np.array([i for i, (_, _, deleted) in enumerate(read_state(models)) if not deleted])
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = xn[labels] @ xn[live].T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :11]
    truth, others, values = [], [], []
    for i, label in enumerate(labels):
        rows = live[order[i]]
        truth.append(rows[:10])
        keep = [(r, sims[i, o]) for r, o in zip(rows, order[i]) if r != label][:10]
        others.append([ids[r] for r, _ in keep])
        values.append([float(v) for _, v in keep])
    return truth, others, values


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def snapshot(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            out[os.path.relpath(os.path.join(root, f), folder)] = sha(os.path.join(root, f))
    return out


def change_catalog(root, drop=50, change=30, add=40):
    """Drops `drop` items, changes lead_time_days of `change` others and adds `add` new ones."""
    t = pq.read_table(root / "data/sample/features.parquet").to_pylist()
    meta = json.load(open(root / "data/sample/item_metadata.json"))
    kept = t[drop:]
    for r in kept[:change]:
        r["lead_time_days"] = int(r["lead_time_days"] or 0) + 17
    new = []
    for r in t[drop:drop + add]:
        r = dict(r)
        r["item_id"] += "-new"
        r["unit_cost"] = (r["unit_cost"] or 1.0) * 1.5
        new.append(r)
    schema = pq.read_schema(root / "data/sample/features.parquet")
    pq.write_table(pa.Table.from_pylist(kept + new, schema=schema), root / "data/sample/features.parquet")
    by_id = {m["item_id"]: m for m in meta}
    meta = [m for m in meta if m["item_id"] in {r["item_id"] for r in kept}]
    meta += [dict(by_id[r["item_id"][:-4]], item_id=r["item_id"]) for r in new]
    json.dump(meta, open(root / "data/sample/item_metadata.json", "w"))
    return {"removed": drop, "changed": change, "added": add}


def test_quality_numbers_equal_numpy_and_hnswlib(sample):
    train(config(sample))
    m = sample / "models"
    meta = json.loads((m / "training_metadata.json").read_text())
    q = meta["quality"]
    assert q["drift"] is None and meta["timings_seconds"]["quality"] > 0
    x = np.load(m / "vectors.npy")
    n = x.shape[0]
    names = json.loads((m / "pipeline.json").read_text())["output_columns"]
    # Per output column: mean, population std and zero share, in float64.
    x64 = x.astype(np.float64)
    assert [c["name"] for c in q["columns"]] == names
    np.testing.assert_allclose([c["mean"] for c in q["columns"]], x64.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([c["std"] for c in q["columns"]], x64.std(0), rtol=1e-9, atol=1e-12)
    assert [c["zero_share"] for c in q["columns"]] == list((x == 0).sum(0) / n)
    assert q["zero_variance_columns"] == [names[j] for j in range(x.shape[1]) if np.ptp(x[:, j]) == 0]
    # Duplicates, bit for bit with -0 = 0.
    distinct = len({row.tobytes() for row in (x + np.float32(0))})
    assert q["duplicate_share"] == (n - distinct) / n
    # The sample and its neighbours.
    rows = read_sample(m)
    labels = [r[0] for r in rows]
    assert q["sample_size"] == len(rows) == min(1000, n) and len(set(labels)) == len(labels)
    truth, others, values = numpy_neighbours(m, labels)
    ids = read_labels(m)
    assert all(ids[r[0]] == r[1] for r in rows)
    agree = np.mean([len(set(a) & set(r[2])) / 10 for a, r in zip(others, rows)])
    assert agree >= 0.999, agree
    np.testing.assert_allclose([v for r in rows for v in r[3]], [v for vs in values for v in vs], atol=2e-6)
    sims = np.array([v for vs in values for v in vs])
    s = q["similarity"]
    assert s["measure"] == "cosine_similarity" and s["count"] == sims.size
    np.testing.assert_allclose(s["quantiles"], np.quantile(sims, LEVELS), atol=2e-6)
    assert abs(s["mean"] - sims.mean()) < 2e-6
    hist, _ = np.histogram(sims, bins=len(s["histogram"]["counts"]), range=(sims.min(), sims.max()))
    assert sum(s["histogram"]["counts"]) == sims.size
    assert np.abs(np.array(s["histogram"]["counts"]) - hist).sum() <= 4
    # Recall against numpy's brute force, the index searched by hnswlib at every ef.
    index = hnswlib.Index(space="cosine", dim=x.shape[1])
    index.load_index(str(m / "hnsw_index.bin"))
    efs = [p["ef"] for p in q["recall"]]
    assert efs == sorted(set([10, 20, 50, 100, 200, meta["index"]["ef_search"]]))
    for p in q["recall"]:
        index.set_ef(p["ef"])
        found, _ = index.knn_query(x[labels], k=10)
        theirs = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
        assert abs(p["recall"] - theirs) <= 0.002, (p, theirs)
    at = {p["ef"]: p["recall"] for p in q["recall"]}
    assert q["recall_at_ef_search"] == at[meta["index"]["ef_search"]]
    assert q["ef_for_recall_0_95"] == next((e for e in efs if at[e] >= 0.95), None)
    assert q["ef_for_recall_0_99"] == next((e for e in efs if at[e] >= 0.99), None)
    # Graph health.
    g = q["graph"]
    assert g["elements"] == n and g["deleted"] == 0 and g["reachable_share"] == 1.0
    assert g["live_reachable"] == n and g["live_reachable_share"] == 1.0
    hist0 = np.array(g["level_zero_degree_histogram"])
    assert hist0.sum() == n and len(hist0) == 2 * 32 + 1
    assert abs((hist0 * np.arange(len(hist0))).sum() / n - g["layers"][0]["mean_degree"]) < 1e-9
    assert [layer["nodes"] for layer in g["layers"]] == [sum(meta["index"]["level_histogram"][i:]) for i in range(len(g["layers"]))]
    logs = (sample / "logs").glob("trainer_*.log")
    assert any("quality" in e and f"recall_at_ef_search={q['recall_at_ef_search']:.4f}" in e
               for f in logs for e in f.read_text().splitlines())


def log_text(root):
    return "".join(f.read_text() for f in sorted((root / "logs").glob("trainer_*.log")))


def test_identical_runs_have_zero_drift_and_the_same_quality(sample):
    cfg = config(sample)
    p = train(cfg)
    # The summary's timings include the quality phase; the log's step timings say they are seconds.
    assert re.search(r"index \d+\.\d\d s, quality \d+\.\d\d s, write", p.stdout), p.stdout
    steps = [l for l in log_text(sample).splitlines() if "quality steps" in l]
    assert steps and "drift_seconds=" in steps[0] and "search_seconds=" in steps[0] and " drift=" not in steps[0], steps
    m = sample / "models"
    first = json.loads((m / "training_metadata.json").read_text())["quality"]
    first_sample = (m / "quality_sample.tsv").read_bytes()
    p = train(cfg)
    assert "1 sampled item" not in p.stdout and f"({first['sample_size']} sampled items)" in p.stdout
    q = json.loads((m / "training_metadata.json").read_text())["quality"]
    assert (m / "quality_sample.tsv").read_bytes() == first_sample
    d = q.pop("drift")
    first.pop("drift")
    assert q == first
    assert (d["added"], d["changed"], d["removed"]) == (0, 0, 0)
    assert d["compared_items"] == q["sample_size"] and d["mean_overlap"] == 1.0 and d["drift"] == 0.0
    assert d["similarity_quantile_change"] == [0.0] * len(LEVELS) and d["current_counts"] == d["previous_counts"]
    assert d["note"] is None and d["max_drift"] is None


@pytest.mark.parametrize("incremental", [False, True])
def test_drift_after_a_changed_catalog_matches_numpy(sample, incremental):
    cfg = config(sample)
    train(cfg)
    m = sample / "models"
    before = sample / "before"
    shutil.copytree(m, before)
    expected = change_catalog(sample)
    train(cfg, *(["--incremental"] if incremental else []))
    meta = json.loads((m / "training_metadata.json").read_text())
    d = meta["quality"]["drift"]
    assert {k: d[k] for k in expected} == expected
    assert d["previous_model"] == json.loads((before / "training_metadata.json").read_text())["artifacts"]["hnsw_index.bin"]
    old_rows, new_rows = read_sample(before), read_sample(m)
    old_ids = {r[1] for r in old_rows}
    compared = [r for r in new_rows if r[1] in old_ids]
    assert d["compared_items"] == len(compared) > 800
    # The neighbours of both models by numpy, for the items both runs sampled.
    old_label = {r[1]: r[0] for r in old_rows}
    _, old_nb, old_vals = numpy_neighbours(before, [old_label[r[1]] for r in compared])
    _, new_nb, _ = numpy_neighbours(m, [r[0] for r in compared])
    overlaps = np.array([len(set(a) & set(b)) / 10 for a, b in zip(old_nb, new_nb)])
    assert abs(d["mean_overlap"] - overlaps.mean()) <= 0.005, (d["mean_overlap"], overlaps.mean())
    assert abs(d["drift"] - (1 - overlaps.mean())) <= 0.005 and d["drift"] > 0
    np.testing.assert_allclose(d["overlap_quantiles"], np.quantile(overlaps, LEVELS), atol=0.1)
    _, _, all_old = numpy_neighbours(before, [r[0] for r in old_rows])
    _, _, all_new = numpy_neighbours(m, [r[0] for r in new_rows])
    change = np.quantile(np.concatenate(all_new), LEVELS) - np.quantile(np.concatenate(all_old), LEVELS)
    np.testing.assert_allclose(d["similarity_quantile_change"], change, atol=4e-6)
    assert sum(d["previous_counts"]) == len(old_rows) * 10 and sum(d["current_counts"]) == len(new_rows) * 10
    assert len(d["lowest_overlap"]) == 5 and d["lowest_overlap"][0]["overlap"] == overlaps.min()


@pytest.mark.parametrize("incremental", [False, True])
def test_max_drift_fails_the_run_and_keeps_the_previous_artifacts(sample, incremental):
    # A limit on a first run cannot apply: the run says so instead of passing silently.
    p = train(config(sample, **{"quality.max_drift": 0.0}))
    warned = [l for l in log_text(sample).splitlines() if "drift not measured" in l]
    assert warned and "holds no previous model" in warned[0] and "from the next run" in warned[0], log_text(sample)
    assert "drift not measured" in p.stderr
    shutil.rmtree(sample / "models")
    train(config(sample))
    m = sample / "models"
    before = snapshot(m)
    # An identical run has drift 0, which a limit of 0 allows.
    train(config(sample, **{"quality.max_drift": 0.0}))
    assert json.loads((m / "training_metadata.json").read_text())["quality"]["drift"]["drift"] == 0.0
    before = snapshot(m)
    change_catalog(sample)
    p = train(config(sample, **{"quality.max_drift": 0.01}), *(["--incremental"] if incremental else []), check=False)
    assert p.returncode == 4, p.stderr
    assert "quality.max_drift" in p.stderr and "drift" in p.stderr and str(m) in p.stderr
    shown = re.search(r"drift (\d\.\d+) \(1 − mean top-10 neighbour overlap of (\d+) sampled items", p.stderr)
    assert shown and float(shown.group(1)) > 0.01 and int(shown.group(2)) > 800, p.stderr
    assert snapshot(m) == before
    assert not [f for f in os.listdir(m) if f.startswith(".staging")]
    log = "".join(f.read_text() for f in (sample / "logs").glob("trainer_*.log"))
    assert "run failed" in log and "quality.max_drift" in log
    train(config(sample, **{"quality.max_drift": 1.0}), *(["--incremental"] if incremental else []))
    assert snapshot(m) != before


@pytest.mark.parametrize("key,value,words", [
    ("quality.max_drift", 1.5, "0…1"), ("quality.max_drift", "high", "expected a number"),
    ("quality.ef", [], "at least one"), ("quality.ef", [10, 10], "twice"), ("quality.ef", [0], "1…"),
    ("quality.sample_size", 0, "quality.sample_size"), ("quality.samples", 5, "unknown key")])
def test_quality_config_errors_name_the_key(sample, key, value, words):
    p = train(config(sample, **{key: value}), check=False)
    assert p.returncode == 2 and key in p.stderr and words in p.stderr, p.stderr


def chromium(*args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed (make apt installs it)")
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_page_renders_in_a_headless_browser(sample):
    from PIL import Image
    # A category with markup in it: its output column name must reach the page as text.
    t = pq.read_table(sample / "data/sample/features.parquet")
    proc = [("<b>forge</b> & \"co\"" if v == "forging" else v) for v in t.column("process").to_pylist()]
    t = t.set_column(t.schema.get_field_index("process"), "process", pa.array(proc, pa.string()))
    pq.write_table(t, sample / "data/sample/features.parquet")
    train(config(sample))
    change_catalog(sample)
    train(config(sample, **{"cluster.mode": "local", "cluster.shards": 2, "cluster.workers": 1}))
    m = sample / "models"
    meta = json.loads((m / "training_metadata.json").read_text())
    q = meta["quality"]
    assert meta["cluster"]["shards"] == 2 and q["drift"]["compared_items"] > 0
    html = (m / "report.html").read_text()
    assert "<script" not in html and "http" not in html and "<link" not in html
    assert "<th></th>" not in html  # name/value tables have no empty header row
    # The two runs' similarity histograms are shares of their own pairs, each bar's tooltip names its
    # bin; the legend sits above the plot, not over its bars.
    svg = html[html.index('aria-label="similarity histogram against the previous model"'):]
    svg = svg[:svg.index("</svg>")]
    tips = re.findall(r"<title>\[(-?\d+\.\d+), (-?\d+\.\d+)[)\]]: (this run|previous model) (\d+\.\d+)% \((\d+) of (\d+) pairs\)</title>", svg)
    assert len(tips) > 20, svg[:2000]
    totals = {who: int(total) for _, _, who, _, _, total in tips}
    assert totals == {"this run": q["similarity"]["count"], "previous model": sum(q["drift"]["previous_counts"])}
    for lo, hi, who, share, n, total in tips:
        assert float(lo) < float(hi) and abs(float(share) - 100 * int(n) / int(total)) < 0.006
    bars = [float(y) for y in re.findall(r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="[^"]+" fill="[^"]+"><title>', svg)]
    legend = [float(y) for y in re.findall(r'<rect x="[^"]+" y="([^"]+)" width="10" height="10"', svg)]
    assert len(legend) == 2 and max(legend) + 10 <= min(bars), (legend, min(bars))
    assert re.search(r"<title>degree \d+: \d+ elements</title>", html) and re.search(r"<title>shard 0: \d+ items</title>", html)
    assert "process=&lt;b&gt;forge&lt;/b&gt; &amp; &quot;co&quot;" in html and "<b>forge" not in html
    assert "report.html" not in meta["artifacts"] and "quality_sample.tsv" in meta["artifacts"]
    page = "file://" + str(m / "report.html")
    dom = chromium("--dump-dom", page)
    assert dom.returncode == 0, dom.stderr
    text = re.sub(r"<[^>]+>", " ", dom.stdout)
    for needle in [f"{q['recall_at_ef_search']:.4f}", f"{q['similarity']['quantiles'][5]:.4f}",
                   f"{q['drift']['mean_overlap']:.4f}", f"{q['columns'][0]['mean']:.6f}", q["columns"][0]["name"],
                   f"{q['graph']['reachable_share'] * 100:.2f}%", str(meta["cluster"]["shard_sizes"][0]),
                   f"{meta['timings_seconds']['index']:.3f}", meta["model_version"], q["drift"]["lowest_overlap"][0]["item_id"]]:
        assert needle in text, needle
    assert "process=&lt;b&gt;forge&lt;/b&gt;" in dom.stdout and "<b>forge" not in dom.stdout
    assert dom.stdout.count("<svg") == 5  # recall, similarity, degrees, timings, shard sizes
    shot = sample / "shot.png"
    p = chromium(f"--screenshot={shot}", "--window-size=1200,6000", page)
    assert p.returncode == 0 and shot.exists(), p.stderr
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert (img.sum(axis=2) < 700).mean() > 0.01, "the page is blank"

    def pixels(hex_colour):
        rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
        return int((np.abs(img - rgb).sum(axis=2) <= 6).sum())
    # The recall curve, this run's and the previous model's similarity bars, the degree histogram,
    # the timing bars and the shard sizes are all drawn.
    for colour in ["#1f77b4", "#ff7f0e", "#2ca02c", "#8c564b", "#9467bd"]:
        assert pixels(colour) > 150, colour
    red = pixels("#d62728")
    assert red > 50  # the ef_search marker


def test_report_command_prints_the_summary_and_rebuilds_the_page(sample, tmp_path):
    train(config(sample))
    m = sample / "models"
    written = (m / "report.html").read_bytes()
    (m / "report.html").unlink()
    p = trainer("report", m)
    meta = json.loads((m / "training_metadata.json").read_text())
    q = meta["quality"]
    assert (m / "report.html").read_bytes() == written
    out = p.stdout
    assert f"at ef_search {q['ef_search']}: {q['recall_at_ef_search']:.4f}" in out
    assert "ef 10 " in out and "no previous model" in out and f"{meta['item_count']} items" in out
    assert f"{q['columns'][1]['name']}\t{q['columns'][1]['mean']:.6f}" in out
    assert f"report: {m}/report.html" in out
    # --out and --no-page.
    trainer("report", m, "--out", tmp_path / "elsewhere.html")
    assert (tmp_path / "elsewhere.html").read_bytes() == written
    assert "report:" not in trainer("report", m, "--no-page").stdout
    # Errors name the file.
    p = trainer("report", tmp_path / "missing", check=False)
    assert p.returncode == 3 and "missing: no such folder" in p.stderr, p.stderr
    (tmp_path / "empty").mkdir()
    p = trainer("report", tmp_path / "empty", check=False)
    assert p.returncode == 3 and f"{tmp_path}/empty/training_metadata.json: no training metadata" in p.stderr, p.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "training_metadata.json").write_text('{"trainer_version": ')
    p = trainer("report", bad, check=False)
    assert p.returncode == 3 and "bad/training_metadata.json: not valid training metadata (not valid JSON)" in p.stderr, p.stderr
    broken = dict(meta)
    del broken["index"]
    (bad / "training_metadata.json").write_text(json.dumps(broken))
    p = trainer("report", bad, check=False)
    assert p.returncode == 3 and "missing key index" in p.stderr, p.stderr
    # Numbers out of their range and values of the wrong kind are named by their key path, in JSON's words.
    for change, words in [
            (lambda h: h["quality"]["recall"][0].__setitem__("recall", 5), "quality.recall[0].recall is 5.0, expected a number in 0…1"),
            (lambda h: h["quality"]["graph"].__setitem__("reachable_share", -0.5), "quality.graph.reachable_share is -0.5"),
            (lambda h: h["quality"]["similarity"]["quantiles"].__setitem__(0, "x"), "quality.similarity.quantiles[0] is not a number"),
            (lambda h: h["quality"].__setitem__("recall", 0.9), "quality.recall is not a list"),
            (lambda h: h.__setitem__("item_count", -3), "item_count is -3, expected an integer ≥ 0"),
            (lambda h: h["quality"]["similarity"]["histogram"]["edges"].pop(), "quality.similarity.histogram.edges is 40 edges"),
            (lambda h: h["quality"].__setitem__("recall", []), "quality.recall is empty, expected at least one ef"),
            (lambda h: h.__setitem__("item_count", 12.5), "a value does not fit its field")]:
        h = json.loads(json.dumps(meta))
        change(h)
        (bad / "training_metadata.json").write_text(json.dumps(h))
        p = trainer("report", bad, check=False)
        assert p.returncode == 3 and words in p.stderr and "Array" not in p.stderr and "Double" not in p.stderr, (words, p.stderr)
    # Strings from the metadata are escaped on the page; a model without a quality section still reports.
    hostile = json.loads(json.dumps(meta))
    hostile["model_version"] = "<script>alert(1)</script>"
    hostile["quality"]["columns"][0]["name"] = "<img src=x onerror=alert(1)>"
    (bad / "training_metadata.json").write_text(json.dumps(hostile))
    trainer("report", bad)
    page = (bad / "report.html").read_text()
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    del hostile["quality"]
    (bad / "training_metadata.json").write_text(json.dumps(hostile))
    assert "no quality section" in trainer("report", bad).stdout


def test_a_degenerate_catalog_warns_about_its_graph(sample):
    """Every item with the same features: one vector repeated, a graph its entry point cannot cross.
    The run finishes (the artifacts are what was asked for) but says what is wrong."""
    t = pq.read_table(sample / "data/sample/features.parquet")
    cols = {name: pa.array([t.column(name)[0].as_py()] * t.num_rows, t.schema.field(name).type) if name != "item_id"
            else t.column(name) for name in t.column_names}
    pq.write_table(pa.table(cols), sample / "data/sample/features.parquet")
    p = train(config(sample))
    q = json.loads((sample / "models/training_metadata.json").read_text())["quality"]
    assert q["duplicate_share"] > 0.99
    lines = [l for l in log_text(sample).splitlines() if "WARN" in l.upper() and "graph" in l]
    assert any("repeat another item's vector exactly" in l for l in lines), log_text(sample)
    if q["graph"]["live_reachable_share"] < 0.99:
        assert any(f"of {q['graph']['elements']} live items" in l and "reachable from the entry point" in l for l in lines)
    assert "repeat another item's vector" in p.stderr


def test_an_incremental_run_that_replaces_every_item_still_serves_them(sample):
    """Every id renamed: the old elements are all deleted, the new ones must still be found. The
    graph is rebuilt (the same labels and files) and hnswlib serves every new item."""
    train(config(sample))
    t = pq.read_table(sample / "data/sample/features.parquet")
    t = t.set_column(t.schema.get_field_index("item_id"), "item_id", pa.array(["NEW-" + x for x in t.column("item_id").to_pylist()]))
    pq.write_table(t, sample / "data/sample/features.parquet")
    meta = json.loads((sample / "data/sample/item_metadata.json").read_text())
    for r in meta:
        r["item_id"] = "NEW-" + r["item_id"]
    (sample / "data/sample/item_metadata.json").write_text(json.dumps(meta))
    p = train(config(sample), "--incremental")
    assert "updated the model in" in p.stdout and "pipeline" not in p.stdout.split("\n")[1], p.stdout
    m = sample / "models"
    md = json.loads((m / "training_metadata.json").read_text())
    assert md["changes"] == {"added": 1000, "updated": 0, "deleted": 1000}
    q = md["quality"]
    assert q["recall_at_ef_search"] >= 0.99 and q["graph"]["live_reachable"] == 1000 and q["graph"]["deleted"] == 1000
    assert "index rebuilt" in log_text(sample)
    x = np.load(m / "vectors.npy")
    index = hnswlib.Index(space="cosine", dim=x.shape[1])
    index.load_index(str(m / "hnsw_index.bin"))
    index.set_ef(100)
    live = np.arange(1000, 2000)
    found, _ = index.knn_query(x[live], k=1)
    assert (found[:, 0] == live).mean() > 0.95


def test_a_revived_item_counts_as_added_in_both_places(sample):
    train(config(sample))
    t = pq.read_table(sample / "data/sample/features.parquet")
    pq.write_table(t.slice(1), sample / "data/sample/features.parquet")
    train(config(sample), "--incremental")
    pq.write_table(t, sample / "data/sample/features.parquet")
    train(config(sample), "--incremental")
    md = json.loads((sample / "models/training_metadata.json").read_text())
    d = md["quality"]["drift"]
    assert md["changes"] == {"added": 1, "updated": 0, "deleted": 0}
    assert (d["added"], d["changed"], d["removed"]) == (1, 0, 0)
