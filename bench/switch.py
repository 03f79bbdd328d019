# Reference for switch.valk: two asyncio tasks yielding (sleep(0)) 500,000 times each.
import asyncio, time

N = 500000

async def spin(k):
    for _ in range(k):
        await asyncio.sleep(0)

async def main():
    t0 = time.monotonic()
    await asyncio.gather(spin(N), spin(N))
    dt = time.monotonic() - t0
    print(f"{2 * N} yields: {int(dt * 1e9 / (2 * N))} ns per yield")

asyncio.run(main())
