"""The hnswlib side of bench/hnsw_vs_hnswlib.py, in its own process so peak RSS is its own.
Prints one JSON object: build seconds, recall@k and single-thread QPS per ef, peak RSS."""
import json, resource, sys, time
import hnswlib, numpy as np

def main():
    base_path, query_path, truth_path, space, m, efc, threads, efs = sys.argv[1:9]
    x = np.load(base_path)
    q = np.load(query_path)
    truth = np.load(truth_path)
    n, d = x.shape
    index = hnswlib.Index(space=space, dim=d)
    index.init_index(max_elements=n, M=int(m), ef_construction=int(efc), random_seed=100)
    index.set_num_threads(int(threads))
    t0 = time.perf_counter()
    index.add_items(x, np.arange(n))
    build = time.perf_counter() - t0
    index.set_num_threads(1)
    k = truth.shape[1]
    rows = []
    for ef in [int(e) for e in efs.split(",")]:
        index.set_ef(ef)
        t0 = time.perf_counter()
        labels, _ = index.knn_query(q, k=k)
        secs = time.perf_counter() - t0
        hits = sum(len(set(a) & set(b)) for a, b in zip(labels.tolist(), truth.tolist()))
        rows.append({"ef": ef, "recall": hits / truth.size, "qps": len(q) / secs})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"build_s": build, "eval": rows, "peak_rss": rss}))

if __name__ == "__main__":
    main()
