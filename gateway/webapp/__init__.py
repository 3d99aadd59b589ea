"""The field web app (issue 19) under ``/app/``: server-rendered pages (Jinja2, autoescaped),
Chinese first with English (Babel catalogues in ``locale/``), phone first, every asset served
from here and versioned by its hash, no inline script. ``app.py`` is the machinery,
``pages.py`` the pages, ``sessions.py`` who is signed in, ``security.py`` the headers and CSRF,
``names.py`` what codes are called, ``charts.py`` the dashboard's SVG."""
