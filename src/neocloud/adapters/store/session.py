"""One transaction's session, shared by the unit of work's repositories. New rows may be queued to go in one
statement per table, sent before anything that might read or refer to them (at the latest, the commit)."""

from __future__ import annotations

from sqlalchemy import Insert
from sqlalchemy.orm import Session, sessionmaker


class Transaction:
    def __init__(self, sessions: sessionmaker[Session], *, postgres: bool) -> None:
        self._sessions = sessions
        self.postgres = postgres
        self._session: Session | None = None
        self._unsent: list[tuple[Insert, list[dict[str, object]]]] = []

    def begin(self) -> None:
        self._session = self._sessions()

    def end(self) -> None:
        """Forget the session (closed by the caller) and whatever was still queued."""
        self._session, self._unsent = None, []

    @property
    def open(self) -> Session:
        """The session as it is, queued rows not sent."""
        if self._session is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._session

    @property
    def session(self) -> Session:
        """The session with every queued row sent: what comes next may read or refer to them."""
        session = self.open
        if self._unsent:
            self.send()
        return session

    def queue(self, statement: Insert, rows: list[dict[str, object]]) -> None:
        if rows:
            self._unsent.append((statement, rows))

    def send(self) -> None:
        session = self.open
        unsent, self._unsent = self._unsent, []
        if not unsent:
            return
        session.flush()  # rows added through the session first: ours may refer to them
        db = session.connection()
        for statement, rows in unsent:
            db.execute(statement, rows)
