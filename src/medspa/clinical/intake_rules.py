"""Intake answers checked against a form's questions: what is wrong, and what needs review.

Pure: no Django. Software only flags an answer for a provider's review; a person decides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

TEXT = "text"
NUMBER = "number"
YES_NO = "yes_no"
SINGLE_CHOICE = "single_choice"
MULTIPLE_CHOICE = "multiple_choice"
DATE = "date"
SIGNATURE = "signature"
KINDS = (TEXT, NUMBER, YES_NO, SINGLE_CHOICE, MULTIPLE_CHOICE, DATE, SIGNATURE)
CHOICE_KINDS = frozenset({SINGLE_CHOICE, MULTIPLE_CHOICE})

MAX_TEXT = 5000
MAX_SIGNATURE = 500_000  # a drawn signature as a data URL stays well below this
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_DATA_URL = re.compile(r"^data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/=]+$")


@dataclass(frozen=True)
class Question:
    """One question of a form version, as plain data."""

    key: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    review_when: Mapping[str, Any] | None = None
    review_reason: str = ""
    label: str = field(default="", compare=False)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _blank(value: object) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def _check_one(question: Question, value: object) -> str | None:
    """Why this (non-blank) answer is not acceptable, or None."""
    kind = question.kind
    if kind == TEXT:
        if not isinstance(value, str):
            return "Answer with text."
        if len(value) > MAX_TEXT:
            return f"Answer in at most {MAX_TEXT} characters."
    elif kind == NUMBER:
        if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
            return "Answer with a number."
        assert isinstance(value, int | float)
        if question.min_value is not None and value < question.min_value:
            return f"Answer at least {question.min_value:g}."
        if question.max_value is not None and value > question.max_value:
            return f"Answer at most {question.max_value:g}."
    elif kind == YES_NO:
        if not isinstance(value, bool):
            return "Answer yes or no."
    elif kind == SINGLE_CHOICE:
        if not isinstance(value, str) or value not in question.choices:
            return "Invalid choice."
    elif kind == MULTIPLE_CHOICE:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "Answer with a list of choices."
        if any(v not in question.choices for v in value):
            return "Invalid choice."
        if len(set(value)) != len(value):
            return "A choice is given twice."
    elif kind == DATE:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "Answer with a date as YYYY-MM-DD."
        try:
            date.fromisoformat(value)
        except ValueError:
            return "Answer with a date that exists."
    elif kind == SIGNATURE:
        if not isinstance(value, str) or len(value) > MAX_SIGNATURE:
            return "Sign with a drawn signature or typed name."
        if value.startswith("data:") and not _DATA_URL.fullmatch(value):
            return "The signature image is not a valid data URL."
    else:
        return f"Unknown question kind {kind!r}."
    return None


def needs_review(question: Question, value: object) -> bool:
    """Whether a valid answer matches the question's review rule."""
    rule = question.review_when
    if not rule:
        return False
    if "equals" in rule:
        return type(value) is type(rule["equals"]) and value == rule["equals"]
    if "any_of" in rule:
        wanted = set(rule["any_of"])
        given = set(value) if isinstance(value, list) else {value}
        return bool(wanted & given)
    if "min" in rule or "max" in rule:
        # A range, both ends included: {"min": 3} flags 3 and above, {"max": 17} 17 and below.
        if not _is_number(value):
            return False
        low, high = rule.get("min"), rule.get("max")
        return (low is None or value >= low) and (high is None or value <= high)
    return False


def check_answers(
    questions: Sequence[Question], answers: Mapping[str, object]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Errors by question key, and the (key, reason) of each valid answer needing review."""
    by_key = {q.key: q for q in questions}
    errors: dict[str, str] = {
        key: "Not a question of this form." for key in answers if key not in by_key
    }
    flags: list[tuple[str, str]] = []
    for question in questions:
        value = answers.get(question.key)
        if _blank(value):
            if question.required:
                errors[question.key] = "Required."
            continue
        reason = _check_one(question, value)
        if reason is not None:
            errors[question.key] = reason
        elif needs_review(question, value):
            flags.append((question.key, question.review_reason or "Needs a provider's review."))
    return errors, flags


def rule_problem(question: Question) -> tuple[str, str] | None:
    """(field, reason) of what is wrong with a question's own definition, or None."""
    if question.kind not in KINDS:
        return "kind", f"Choose one of: {', '.join(KINDS)}."
    if not KEY_PATTERN.fullmatch(question.key):
        return "key", "Use 1 to 50 lowercase letters, digits or _, starting with a letter."
    if question.kind in CHOICE_KINDS:
        if len(set(question.choices)) != len(question.choices):
            return "choices", "Each choice may appear once."
        if any(not c.strip() for c in question.choices):
            return "choices", "A choice may not be blank."
    elif question.choices:
        return "choices", "Only choice questions have choices."
    if question.kind != NUMBER and (
        question.min_value is not None or question.max_value is not None
    ):
        return "min_value", "Only number questions have bounds."
    if (
        question.min_value is not None
        and question.max_value is not None
        and question.min_value > question.max_value
    ):
        return "max_value", "The maximum is below the minimum."
    rule = question.review_when
    if rule is None:
        if question.review_reason:
            return "review_reason", "A reason needs a review rule."
        return None
    reason = _rule_shape_problem(question, rule)
    if reason is not None:
        return "review_when", reason
    if not question.review_reason.strip():
        return "review_reason", "Say why the answer needs review, for the provider."
    return None


def _rule_shape_problem(question: Question, rule: Mapping[str, Any]) -> str | None:
    kind = question.kind
    if not isinstance(rule, Mapping):
        return "A review rule is an object."
    if kind == YES_NO:
        if set(rule) != {"equals"} or not isinstance(rule["equals"], bool):
            return 'For yes/no use {"equals": true} or {"equals": false}.'
    elif kind in CHOICE_KINDS:
        any_of = rule.get("any_of")
        if set(rule) != {"any_of"} or not isinstance(any_of, list) or not any_of:
            return 'For choices use {"any_of": [...]} with at least one choice.'
        if any(not isinstance(c, str) or c not in question.choices for c in any_of):
            return "Every choice of the review rule must be one of the question's choices."
    elif kind == NUMBER:
        if not rule or not set(rule) <= {"min", "max"}:
            return 'For numbers use {"min": x}, {"max": y} or both.'
        if not all(_is_number(v) and math.isfinite(v) for v in rule.values()):
            return "The review bounds are numbers."
        if "min" in rule and "max" in rule and rule["min"] > rule["max"]:
            return "The review range is empty (min above max)."
    else:
        return f"A {kind} question cannot be flagged for review."
    return None
