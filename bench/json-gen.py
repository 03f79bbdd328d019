#!/usr/bin/env python3
"""bench/json-gen.py OUT [MB] - writes a generated JSON document of about
MB megabytes (default 20) for bench/json.sh: an array of CI build records
mixing objects, arrays, strings (some with escapes and non-ASCII text),
integers, floats, booleans and nulls. Deterministic (fixed seed)."""
import json, random, sys

out = sys.argv[1]
target = int(float(sys.argv[2]) * 1e6) if len(sys.argv) > 2 else 20_000_000
rng = random.Random(42)
words = ["build", "test", "deploy", "lint", "cargo", "npm", "make", "docker",
         "valkyria", "pipeline", "stage", "artifact", "cache", "release"]

def record(i):
    return {
        "id": i,
        "name": "%s-%s-%d" % (rng.choice(words), rng.choice(words), i),
        "status": rng.choice(["success", "failed", "running", "cancelled"]),
        "duration": round(rng.uniform(0, 600), 3),
        "exit_code": rng.choice([0, 0, 0, 1, 2, 137]),
        "cached": rng.random() < 0.5,
        "retried": None if rng.random() < 0.7 else rng.randint(1, 3),
        "commit": "%040x" % rng.getrandbits(160),
        "author": {"name": rng.choice(["Ada Lovelace", "Grace Hopper", "Łukasz Ø", "山田太郎"]),
                   "email": "dev%d@example.com" % rng.randint(1, 999)},
        "tags": [rng.choice(words) for _ in range(rng.randint(0, 5))],
        "log": "line 1\n\tline \"2\"\n" if rng.random() < 0.2 else "ok",
        "metrics": [rng.randint(-10**6, 10**6) for _ in range(4)] + [rng.random() * 1e6],
        "size": rng.randint(0, 2**40),
    }

parts, size, i = [], 2, 0
while size < target:
    s = json.dumps(record(i), ensure_ascii=(i % 3 == 0))
    parts.append(s)
    size += len(s.encode()) + 2
    i += 1
with open(out, "w", encoding="utf-8") as f:
    f.write("[\n" + ",\n".join(parts) + "\n]\n")
