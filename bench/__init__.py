"""Benchmarks of the event kernel, each measured side by side with a raw baseline.

Run ``python -m bench`` (``--help`` for options). Every kernel path — append, relay →
broker → durable consumer, projection rebuild, hash-chain verification — is timed in the
same process run as the plain SQLAlchemy / kombu code doing the equivalent work, so the
ratio column says what the kernel's guarantees cost on this machine. It is a measurement,
not a test: missed targets are reported, the exit code stays 0.
"""
