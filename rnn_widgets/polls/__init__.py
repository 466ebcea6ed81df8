"""Class polls (issue 27): students' committed answers collected, opt-in, for the instructor's view.

:mod:`.store` keeps them (SQLAlchemy: SQLite by default, PostgreSQL for a large course), :mod:`.service` serves the
students' commits and the instructor's view (in the gallery, standalone, or as a JupyterHub service: :mod:`.hub`),
:mod:`.client` is what a kernel registers with :mod:`rnn_widgets.answers` once a poll is joined. See
docs/class-polls.md. Importing this package imports neither SQLAlchemy nor tornado.
"""
from .client import autojoin, join, leave

__all__ = ["autojoin", "join", "leave"]
