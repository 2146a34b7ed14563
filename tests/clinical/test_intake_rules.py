"""check_answers: answers validated by kind, and the answers a provider must review."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medspa.clinical.intake_rules import Question, check_answers, rule_problem

PREGNANT = Question(
    key="pregnant",
    kind="yes_no",
    required=True,
    review_when={"equals": True},
    review_reason="Pregnancy: no neurotoxin",
)
MEDS = Question(
    key="medications",
    kind="multiple_choice",
    choices=("Warfarin", "Aspirin", "Isotretinoin", "None"),
    review_when={"any_of": ["Warfarin", "Isotretinoin"]},
    review_reason="Blood thinners or isotretinoin",
)
AGE = Question(
    key="age",
    kind="number",
    required=True,
    min_value=0,
    max_value=120,
    review_when={"max": 17},
    review_reason="A minor",
)
SKIN = Question(
    key="skin",
    kind="single_choice",
    choices=("I", "II", "III", "IV", "V", "VI"),
    review_when={"any_of": ["V", "VI"]},
    review_reason="Laser settings",
)
LAST_PERIOD = Question(key="last_period", kind="date")
NOTES = Question(key="notes", kind="text")
SIGNED = Question(key="signature", kind="signature", required=True)
FORM = [PREGNANT, MEDS, AGE, SKIN, LAST_PERIOD, NOTES, SIGNED]
GOOD = {"pregnant": False, "age": 34, "signature": "Ana Rivera"}


def test_a_complete_form_has_no_errors_and_no_flags() -> None:
    assert check_answers(FORM, GOOD) == ({}, [])


def test_required_answers_are_asked_for() -> None:
    errors, _ = check_answers(FORM, {"signature": "  "})
    assert errors == {"pregnant": "Required.", "age": "Required.", "signature": "Required."}


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("pregnant", "yes", "Answer yes or no."),
        ("age", "34", "Answer with a number."),
        ("age", True, "Answer with a number."),
        ("age", float("nan"), "Answer with a number."),
        ("age", 121, "Answer at most 120."),
        ("age", -1, "Answer at least 0."),
        ("skin", "VII", "Invalid choice."),
        ("medications", ["Warfarin", "Warfarin"], "A choice is given twice."),
        ("medications", "Warfarin", "Answer with a list of choices."),
        ("last_period", "2026-02-30", "Answer with a date that exists."),
        ("last_period", "26/02/2026", "Answer with a date as YYYY-MM-DD."),
        ("notes", 12, "Answer with text."),
        (
            "signature",
            "data:image/png;base64,not base64!",
            "The signature image is not a valid data URL.",
        ),
        ("bogus", "x", "Not a question of this form."),
    ],
)
def test_each_kind_refuses_what_it_cannot_hold(key: str, value: object, reason: str) -> None:
    errors, _ = check_answers(FORM, {**GOOD, key: value})
    assert errors == {key: reason}


def test_answers_matching_review_rules_raise_flags_with_their_reasons() -> None:
    answers = {
        **GOOD,
        "pregnant": True,
        "age": 17,
        "medications": ["Aspirin", "Warfarin"],
        "skin": "VI",
        "signature": "data:image/png;base64,iVBORw0KGgo=",
    }
    errors, flags = check_answers(FORM, answers)
    assert errors == {}
    assert flags == [
        ("pregnant", "Pregnancy: no neurotoxin"),
        ("medications", "Blood thinners or isotretinoin"),
        ("age", "A minor"),
        ("skin", "Laser settings"),
    ]


def test_an_invalid_answer_raises_no_flag() -> None:
    _, flags = check_answers(FORM, {**GOOD, "age": -5})
    assert flags == []


@pytest.mark.parametrize(
    ("question", "field"),
    [
        (Question(key="Bad Key", kind="text"), "key"),
        (Question(key="x", kind="essay"), "kind"),
        (Question(key="x", kind="text", choices=("a",)), "choices"),
        (Question(key="x", kind="yes_no", min_value=1), "min_value"),
        (Question(key="x", kind="number", min_value=5, max_value=1), "max_value"),
        (
            Question(key="x", kind="yes_no", review_when={"equals": "yes"}, review_reason="r"),
            "review_when",
        ),
        (
            Question(
                key="x",
                kind="single_choice",
                choices=("a",),
                review_when={"any_of": ["b"]},
                review_reason="r",
            ),
            "review_when",
        ),
        (
            Question(key="x", kind="number", review_when={"min": 3, "max": 1}, review_reason="r"),
            "review_when",
        ),
        (
            Question(key="x", kind="text", review_when={"equals": "x"}, review_reason="r"),
            "review_when",
        ),
        (Question(key="x", kind="yes_no", review_when={"equals": True}), "review_reason"),
    ],
)
def test_a_badly_defined_question_names_its_field(question: Question, field: str) -> None:
    problem = rule_problem(question)
    assert problem is not None and problem[0] == field


choice_lists = st.lists(
    st.text(min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=6, unique=True
)


@given(choices=choice_lists, data=st.data())
def test_answers_built_from_the_choices_are_never_invalid(
    choices: list[str], data: st.DataObject
) -> None:
    single = Question(key="one", kind="single_choice", choices=tuple(choices))
    multi = Question(key="many", kind="multiple_choice", choices=tuple(choices))
    answers = {
        "one": data.draw(st.sampled_from(choices)),
        "many": data.draw(st.lists(st.sampled_from(choices), unique=True)),
    }
    assert check_answers([single, multi], answers)[0] == {}


@given(choices=choice_lists, data=st.data())
def test_an_answer_matching_review_when_always_raises_its_flag(
    choices: list[str], data: st.DataObject
) -> None:
    flagged = data.draw(st.lists(st.sampled_from(choices), min_size=1, unique=True))
    question = Question(
        key="q",
        kind="multiple_choice",
        choices=tuple(choices),
        review_when={"any_of": flagged},
        review_reason="why",
    )
    answer = data.draw(st.lists(st.sampled_from(choices), unique=True))
    answer = [*answer, *[c for c in flagged[:1] if c not in answer]]
    assert check_answers([question], {"q": answer}) == ({}, [("q", "why")])


@given(low=st.integers(-1000, 1000), span=st.integers(0, 1000), value=st.integers(-3000, 3000))
def test_a_number_is_flagged_exactly_inside_the_review_range(
    low: int, span: int, value: int
) -> None:
    question = Question(
        key="n", kind="number", review_when={"min": low, "max": low + span}, review_reason="r"
    )
    _, flags = check_answers([question], {"n": value})
    assert bool(flags) == (low <= value <= low + span)


@given(
    answers=st.dictionaries(st.text(max_size=10), st.none() | st.integers() | st.text(), max_size=5)
)
def test_unknown_keys_are_always_refused(answers: dict[str, object]) -> None:
    errors, _ = check_answers([NOTES], {k: v for k, v in answers.items() if k != "notes"})
    assert set(errors) == set(answers) - {"notes"}
