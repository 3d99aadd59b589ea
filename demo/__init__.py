"""Demo data: the division table, resident identity numbers and a deterministic
generator of registry commands for a synthetic county.

Nothing here is used by the services at run time; it feeds demos, load tests and
benchmarks. ``python -m demo.divisions`` rewrites ``data/divisions/demo.csv``;
``python -m demo.generator --elders N --seed S --out FILE.jsonl`` writes commands.
"""
