"""bench/json-parse.py REPS ROUNDS FILE... - json.loads throughput, the
Python side of bench/json.sh (same algorithm as bench/json-parse.valk):
prints the MB/s of the first round and of the best round."""
import json, sys, time

reps, rounds = int(sys.argv[1]), int(sys.argv[2])
texts = [open(f, encoding="utf-8").read() for f in sys.argv[3:]]
total = reps * sum(len(t.encode("utf-8")) for t in texts)

def one_round():
    t0 = time.perf_counter()
    for t in texts:
        for _ in range(reps):
            json.loads(t)
    return time.perf_counter() - t0

first = one_round()
best = min([first] + [one_round() for _ in range(rounds - 1)])
print(total / first / 1e6, total / best / 1e6)
