"""Reading the wall-clock times people type, in a location's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from medspa.core.errors import Invalid
from medspa.core.models import Location


def parse_moment(value: str, location: Location, field: str, *, end: bool = False) -> datetime:
    """An ISO 8601 date or date-time; dates and naive times are read in the location's zone."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            # A date as `end` includes that whole day.
            moment = datetime.combine(day + timedelta(days=1 if end else 0), time.min)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid.on(
            field, f"{value!r} is not an ISO 8601 date (2026-05-01) or date-time."
        ) from None
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    zone = location.zone
    first, second = moment.replace(tzinfo=zone), moment.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
        raise Invalid.on(
            field, f"{text} does not exist in {location.time_zone}: the clocks jump forward then."
        )
    if first.utcoffset() != second.utcoffset():
        raise Invalid.on(
            field,
            f"{text} happens twice in {location.time_zone} (the clocks go back): "
            "give the UTC offset, e.g. -04:00 or -05:00.",
        )
    return first.astimezone(UTC)
