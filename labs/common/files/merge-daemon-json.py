#!/usr/bin/env python3
"""merge-daemon-json.py FILE JSON: merge the keys of JSON into FILE (created if missing).

daemon.json grows through the course (registry-mirrors, then insecure-registries, then bridge);
overwriting it (`tee`, `cat >`) drops the earlier keys, so the harness merges.
"""
import json
import os
import sys

path, new = sys.argv[1], json.loads(sys.argv[2])
try:
    with open(path) as f:
        cur = json.load(f)
except FileNotFoundError:
    cur = {}
for key, value in new.items():
    if isinstance(value, list) and isinstance(cur.get(key), list):
        cur[key] = cur[key] + [v for v in value if v not in cur[key]]
    else:
        cur[key] = value
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path + ".tmp", "w") as f:
    json.dump(cur, f, indent=2)
    f.write("\n")
os.replace(path + ".tmp", path)
