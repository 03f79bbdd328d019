# A 10,000,000-iteration loop summing 0..n-1. Python has no tail-call
# optimisation (a 10M-deep recursion would overflow), so the tail-recursive
# loop of loop.valk is written as the equivalent while loop.
def loop(n):
    i, acc = 0, 0
    while i < n:
        acc += i
        i += 1
    return acc

print(loop(10000000))
