"""Storage of keys, the audit log, decisions and the stop switch (SQLAlchemy 2 Core)."""
