# scikit-learn's LocalOutlierFactor on the hosts of a directory of saved
# Results, as a detection and speed peer of the cluster analyzer
# (bench/cluster). Each host is the set of its rows, volatile columns
# dropped (the Volatile map given as JSON, the analyzer's default): a
# sparse 0/1 vector over every distinct (command, row) of the fleet,
# compared by cosine distance; LOF's own decision (contamination "auto")
# says which hosts are outliers. Prints one JSON object: the outliers'
# instance IDs, the hosts most outlying first (up to a tenth of them), and
# the numbers of hosts and features.
import json
import os
import sys

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.neighbors import LocalOutlierFactor

d, volatile = sys.argv[1], json.loads(sys.argv[2])
drop_any = set(volatile.get("*", []))
features = {}
hosts, indptr, indices = [], [0], []
for name in sorted(os.listdir(d)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(d, name), "rb") as f:
        results = json.load(f)
    if not results:
        continue
    mine = set()
    for r in results:
        rows = r.get("stdout")
        if r.get("status") != "Success" or r.get("truncated") or not isinstance(rows, list):
            continue
        cmd = r.get("command_id", "")
        drop = drop_any | set(volatile.get(cmd, []))
        for row in rows:
            key = (cmd, tuple(sorted((k, v) for k, v in row.items() if k not in drop)))
            mine.add(features.setdefault(key, len(features)))
    hosts.append(results[0]["instance_id"])
    indices.extend(sorted(mine))
    indptr.append(len(indices))
x = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(hosts), len(features)))
lof = LocalOutlierFactor(n_neighbors=20, metric="cosine", algorithm="brute")
flags = lof.fit_predict(x)
order = np.argsort(lof.negative_outlier_factor_, kind="stable")[: max(len(hosts) // 10, 1)]
print(json.dumps({
    "outliers": [h for h, f in zip(hosts, flags) if f == -1],
    "ranked": [hosts[i] for i in order],
    "hosts": len(hosts),
    "features": len(features),
}))
