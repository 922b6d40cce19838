"""The list of cases and what a case is given to run with."""

from dataclasses import dataclass
from typing import Callable

from h2client import H2Connection

CASES = []


@dataclass
class Case:
    section: str   # the RFC 9113 section (or CVE) whose rule the case checks
    title: str     # the rule, as the server must keep it
    run: Callable  # run(ctx) -> optional note; raises CaseFailed (or any error) on failure


def case(section, title):
    """Registers a case function under its RFC section."""
    def register(run):
        CASES.append(Case(section, title, run))
        return run
    return register


class Context:
    """What a case runs against: the server's port, its process id (for RSS, may be None)
    and the time any single expectation may wait."""

    def __init__(self, port, pid, timeout):
        self.port = port
        self.pid = pid
        self.timeout = timeout
        self._open = []

    def connect(self, settings=None, handshake=True):
        """A new connection, by default past the preface exchange (RFC 9113 §3.4)."""
        conn = H2Connection(self.port, self.timeout)
        self._open.append(conn)
        return conn.handshake(settings) if handshake else conn

    def close_all(self):
        for conn in self._open:
            conn.close()
        self._open.clear()
