# Build a 1 MB string: 100,000 ten-byte pieces ("piece" + 5-digit number),
# collected in a list and concatenated once with join.
pieces = ["piece" + str(10000 + i % 90000) for i in range(100000)]
s = "".join(pieces)
print(len(s), s[:20], s[-10:])
