"""The intake form routes: read for all staff, write for managers, 404 across organizations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client as HttpClient

from medspa.clinical.models import IntakeTemplateVersion
from medspa.clinical.services import publish_version, start_draft
from medspa.core.models import AuditEvent, Role, User
from tests.clients.helpers import send
from tests.clinical.helpers import MEDS, PREGNANT, draft_of, screening
from tests.conftest import Clinic

Api = Callable[[User], HttpClient]


def manager(clinic: Clinic, api_as: Api) -> HttpClient:
    return api_as(clinic.users[Role.MANAGER])


def test_a_manager_builds_publishes_and_attaches_a_form(clinic: Clinic, api_as: Api) -> None:
    api = manager(clinic, api_as)
    created = send(api, "POST", "/api/v1/intake/templates", {"name": "Neurotoxin screening"})
    assert created.status_code == 201, created.content
    template_id, draft_id = created.json()["id"], created.json()["versions"][0]["id"]
    for question in (PREGNANT, MEDS):
        added = send(api, "POST", f"/api/v1/intake/versions/{draft_id}/questions", question)
        assert added.status_code == 201, added.content
    published = send(api, "POST", f"/api/v1/intake/versions/{draft_id}/publish", {"notes": "First"})
    assert published.status_code == 200 and not published.json()["is_draft"]
    attached = send(
        api,
        "POST",
        f"/api/v1/intake/templates/{template_id}/services",
        {"services": [clinic.neurotoxin.pk]},
    )
    assert attached.json()["services"] == [{"id": clinic.neurotoxin.pk, "name": "Neurotoxin"}]
    draft = send(api, "POST", f"/api/v1/intake/templates/{template_id}/drafts", {})
    assert draft.status_code == 201 and [q["key"] for q in draft.json()["questions"]] == [
        "pregnant",
        "medications",
    ]
    assert (
        AuditEvent.objects.filter(
            object_type="intake_template", actor=clinic.users[Role.MANAGER]
        ).count()
        == 6
    )


def test_a_published_version_answers_409_and_a_second_draft_too(
    clinic: Clinic, api_as: Api
) -> None:
    template = screening(clinic)
    version = IntakeTemplateVersion.objects.get(template=template)
    api = manager(clinic, api_as)
    added = send(
        api,
        "POST",
        f"/api/v1/intake/versions/{version.pk}/questions",
        {"key": "age", "label": "Age", "kind": "number"},
    )
    assert added.status_code == 409
    start_draft(organization=clinic.organization, actor=None, template=template)
    again = send(api, "POST", f"/api/v1/intake/templates/{template.pk}/drafts", {})
    assert again.status_code == 409 and again.json()["code"] == "draft_exists"


def test_bad_input_answers_422_with_the_field_and_changes_nothing(
    clinic: Clinic, api_as: Api
) -> None:
    draft = draft_of(screening(clinic, publish=False))
    api = manager(clinic, api_as)  # issuing its token is an audited event of its own
    events = AuditEvent.objects.count()
    bad = send(
        api,
        "POST",
        f"/api/v1/intake/versions/{draft.pk}/questions",
        {
            "key": "skin",
            "label": "Skin",
            "kind": "single_choice",
            "choices": ["I", "II"],
            "review_when": {"any_of": ["VI"]},
            "review_reason": "Laser settings",
        },
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "review_when"
    assert draft.questions.count() == 2 and AuditEvent.objects.count() == events


def test_any_staff_member_tries_answers_against_a_version(clinic: Clinic, api_as: Api) -> None:
    version = IntakeTemplateVersion.objects.get(template=screening(clinic))
    checked = send(
        api_as(clinic.users[Role.FRONT_DESK]),
        "POST",
        "/api/v1/intake/check",
        {
            "version": version.pk,
            "answers": {"pregnant": True, "medications": ["Aspirin", "Tylenol"], "shoe_size": 9},
        },
    )
    assert checked.status_code == 200, checked.content
    assert checked.json() == {
        "valid": False,
        "errors": {"medications": "Invalid choice.", "shoe_size": "Not a question of this form."},
        "flags": [{"key": "pregnant", "reason": "Pregnancy: no neurotoxin"}],
    }


def test_another_organizations_ids_answer_404(
    clinic: Clinic, outsider: Clinic, api_as: Api
) -> None:
    template = screening(clinic)
    version = IntakeTemplateVersion.objects.get(template=template)
    foreign = manager(outsider, api_as)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/v1/intake/templates/{template.pk}", None),
        (
            "POST",
            f"/api/v1/intake/versions/{version.pk}/questions",
            {"key": "a", "label": "A", "kind": "text"},
        ),
        ("POST", f"/api/v1/intake/versions/{version.pk}/publish", {}),
        ("POST", f"/api/v1/intake/templates/{template.pk}/drafts", {}),
        (
            "POST",
            f"/api/v1/intake/templates/{template.pk}/services",
            {"services": [outsider.facial.pk]},
        ),
        ("POST", "/api/v1/intake/check", {"version": version.pk, "answers": {}}),
    ]
    for method, url, body in calls:
        assert send(foreign, method, url, body).status_code == 404, url
    assert send(foreign, "GET", "/api/v1/intake/templates").json() == {"items": [], "count": 0}
    # Nor may the clinic attach the outsider's service.
    attach = send(
        manager(clinic, api_as),
        "POST",
        f"/api/v1/intake/templates/{template.pk}/services",
        {"services": [outsider.facial.pk]},
    )
    assert attach.status_code == 404 and attach.json()["errors"][0]["field"] == "services"
    assert template.versions.count() == 1 and list(template.services.all()) == [clinic.neurotoxin]


def test_template_detail_and_list_read_in_a_bounded_number_of_queries(
    clinic: Clinic, api_as: Api, django_assert_max_num_queries: Any
) -> None:
    template = screening(clinic)
    for _ in range(2):
        start_draft(organization=clinic.organization, actor=None, template=template)
        publish_version(organization=clinic.organization, actor=None, version=draft_of(template))
    api = api_as(clinic.users[Role.PROVIDER])
    # Token and user lookups, the template, its services, versions and questions.
    with django_assert_max_num_queries(7):
        detail = api.get(f"/api/v1/intake/templates/{template.pk}")
    assert [v["number"] for v in detail.json()["versions"]] == [1, 2, 3]
    assert all(len(v["questions"]) == 2 for v in detail.json()["versions"])
    with django_assert_max_num_queries(6):
        listed = api.get("/api/v1/intake/templates")
    assert listed.json()["count"] == 1


def test_a_manager_edits_reorders_and_removes_a_drafts_questions(
    clinic: Clinic, api_as: Api
) -> None:
    api = manager(clinic, api_as)
    draft = draft_of(screening(clinic, publish=False))
    pregnant = draft.questions.get(key="pregnant")

    edited = send(api, "PATCH", f"/api/v1/intake/questions/{pregnant.pk}", {"label": "Pregnant?"})
    assert edited.status_code == 200, edited.content
    assert edited.json()["label"] == "Pregnant?" and edited.json()["kind"] == "yes_no"

    ordered = send(
        api,
        "POST",
        f"/api/v1/intake/versions/{draft.pk}/order",
        {"keys": ["medications", "pregnant"]},
    )
    assert [q["key"] for q in ordered.json()["questions"]] == ["medications", "pregnant"]
    refused = send(api, "POST", f"/api/v1/intake/versions/{draft.pk}/order", {"keys": ["pregnant"]})
    assert refused.status_code == 422

    removed = api.delete(f"/api/v1/intake/questions/{pregnant.pk}")
    assert removed.status_code == 204
    assert list(draft.questions.values_list("key", flat=True)) == ["medications"]


def test_a_published_versions_questions_cannot_change(clinic: Clinic, api_as: Api) -> None:
    api = manager(clinic, api_as)
    version = screening(clinic).versions.get()
    question = version.questions.get(key="pregnant")
    edited = send(api, "PATCH", f"/api/v1/intake/questions/{question.pk}", {"label": "Changed"})
    assert edited.status_code == 409
    assert api.delete(f"/api/v1/intake/questions/{question.pk}").status_code == 409
    question.refresh_from_db()
    assert question.label == PREGNANT["label"]


def test_front_desk_cannot_edit_questions(clinic: Clinic, api_as: Api) -> None:
    draft = draft_of(screening(clinic, publish=False))
    question = draft.questions.get(key="pregnant")
    desk = api_as(clinic.users[Role.FRONT_DESK])
    response = send(desk, "PATCH", f"/api/v1/intake/questions/{question.pk}", {"label": "X"})
    assert response.status_code == 403
