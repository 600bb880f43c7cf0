"""Reading a capacity table file (`model.planning.capacity` checks what it holds)."""

from __future__ import annotations

from pathlib import Path

from model.catalogue import Catalogue
from model.errors import CapacityError
from model.planning.capacity import Capacity, capacity_from_catalogue, parse_capacity


def load_capacity(path: str | Path | None, *, catalogue: Catalogue) -> Capacity:
    """The catalogue's seats, overridden by the capacity table at `path` when one is given."""
    if path is None:
        return capacity_from_catalogue(catalogue)
    p = Path(path)
    if p.suffix.lower() != ".csv":
        raise CapacityError(f"{p.name}: a capacity table is a .csv file with service,month,seats")
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise CapacityError(f"cannot read the capacity table {p.name!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CapacityError(
            f"{p.name}: the capacity table is not UTF-8 text; save it as UTF-8"
        ) from None
    return parse_capacity(text, catalogue=catalogue, source=p.name)
