# map and filter over a 1,000,000-element list: square every element, keep
# the even squares, print how many were kept and their sum.
xs = list(range(1000000))
sq = list(map(lambda x: x * x, xs))
ev = list(filter(lambda x: x % 2 == 0, sq))
print(len(ev), sum(ev))
