# CPython's json.load of every *.json file of a directory, in name order:
# the peer of the decoding floor (bench/cluster). Prints the number of
# Results read.
import json
import os
import sys

d = sys.argv[1]
n = 0
for name in sorted(os.listdir(d)):
    if name.endswith(".json"):
        with open(os.path.join(d, name), "rb") as f:
            n += len(json.load(f))
print(n, "results")
