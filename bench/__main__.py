"""``python -m bench``: kernel paths vs raw baselines, side by side, one table.

    python -m bench                                   # default N, all benchmarks, both backends
    python -m bench --markdown                        # Markdown table for the README
    python -m bench --events 1000000 --only rebuild,verify --backends sqlite
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")   # before psycopg is imported (STACK.md)

from bench.run import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
