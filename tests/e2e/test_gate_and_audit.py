"""The treatment gate, the audit log and the client merge in a browser: a manager meets a
refused Start, overrides it with a reason, finds the override in the audit log, and merges
a duplicate client. axe finds no serious problem on any of these pages."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import run_in_demo
from tests.e2e.test_front_desk import WALK_IN_TODAY, assert_accessible, shot, sign_in

# A walk-in checked in today whose forms are not done: one not submitted, one flagged and
# waiting for a provider. The forms belong to this appointment only (no service carries
# them), so other browser tests never meet this gate.
NOT_READY = (
    WALK_IN_TODAY.replace("print(booked.pk)", "")
    + """
from django.utils import timezone
from medspa.clinical.models import (IntakeRequest, IntakeTemplate, IntakeTemplateVersion,
    ReviewTask)
from medspa.scheduling.services import change_status

change_status(appointment=booked, actor=None, status="checked_in")
for name, status in (("Health history", "pending"), ("Neurotoxin screening", "submitted")):
    template = IntakeTemplate.objects.create(organization=where.organization,
        name=f"{name} (gate check {booked.pk})")
    version = IntakeTemplateVersion.objects.create(organization=where.organization,
        template=template, number=1, published_at=timezone.now())
    request = IntakeRequest.objects.create(organization=where.organization, client=client,
        appointment=booked, template=template, version=version, status=status)
    if status == "submitted":
        ReviewTask.objects.create(organization=where.organization, client=client,
            appointment=booked, intake_request=request)
print(booked.pk)
"""
)

DUPLICATES = """
import json
from medspa.clients.services import create_client, record_communication_consent
from medspa.core.models import Organization
from medspa.scheduling.models import Appointment
org = Organization.objects.get(slug__startswith="lumen") if Organization.objects.filter(
    slug__startswith="lumen").exists() else Organization.objects.first()
keep = create_client(organization=org, actor=None, first_name="Maribel", last_name="Okafor",
    phone="+16175550163", email="maribel.okafor@example.com")
dup = create_client(organization=org, actor=None, first_name="Maribel", last_name="Okafor",
    phone="+16175550163")
record_communication_consent(organization=org, actor=None, client=dup, channel="sms",
    purpose="marketing", granted=True, source="front desk")
visit = Appointment.objects.filter(organization=org).exclude(status="cancelled").first()
Appointment.objects.filter(pk=visit.pk).update(client=dup)
print(json.dumps({"keep": keep.pk, "dup": dup.pk}))
"""


def test_a_manager_overrides_the_gate_and_finds_it_in_the_audit_log(
    page: Page, served: str, demo_env: dict[str, str]
) -> None:
    appointment = run_in_demo(demo_env, NOT_READY)
    sign_in(page, served, "manager@demo.medspa.example")
    page.goto(f"{served}/calendar/appointments/{appointment}/")
    # At least our two forms; the demo's own forms and consents may add more.
    expect(page.get_by_text(re.compile(r"Not ready: \d+ items"))).to_be_visible()

    page.get_by_role("button", name="Start").click()

    expect(page.get_by_text("Treatment has not started")).to_be_visible()
    expect(page.get_by_text(f"Health history (gate check {appointment}) intake")).to_be_visible()
    expect(page.get_by_role("button", name="Override and start treatment")).to_be_visible()
    assert_accessible(page)
    page.locator("#treatment-gate").scroll_into_view_if_needed()
    shot(page, "gate-refused.png")

    page.get_by_label("Why start treatment anyway?").fill(
        "Client completed the paper form at the desk; scanned after the visit"
    )
    page.get_by_role("button", name="Override and start treatment").click()
    expect(page.get_by_text("Treatment started by override")).to_be_visible()

    page.goto(f"{served}/audit/?action=appointment.gate")
    expect(page.get_by_text("Overrode the treatment gate").first).to_be_visible()
    page.get_by_role("link", name="Check the chain now").click()
    expect(page.get_by_text("Audit chain intact")).to_be_visible()
    page.goto(f"{served}/audit/")
    assert_accessible(page)
    shot(page, "audit-log.png")


def test_a_manager_merges_a_duplicate_client(
    page: Page, served: str, demo_env: dict[str, str]
) -> None:
    ids = json.loads(run_in_demo(demo_env, DUPLICATES))
    sign_in(page, served, "manager@demo.medspa.example")
    page.goto(f"{served}/clients/{ids['keep']}/")
    page.get_by_role("button", name="Merge a duplicate").click()
    expect(page.get_by_role("heading", name="Likely duplicates")).to_be_visible()
    assert_accessible(page)
    suggested = page.get_by_role("region", name="Likely duplicates")
    suggested.get_by_role("link", name="Maribel Okafor").click()
    expect(page.get_by_role("heading", name="Moves to Maribel Okafor")).to_be_visible()
    assert_accessible(page)
    shot(page, "client-merge.png")

    page.get_by_label("I checked that these two records are the same person").check()
    page.get_by_role("button", name="Merge into Maribel Okafor").click()

    expect(page.get_by_text("was merged into this record")).to_be_visible()
    assert page.url.endswith(f"/clients/{ids['keep']}/")


def test_the_new_client_page_warns_of_a_duplicate(page: Page, served: str) -> None:
    sign_in(page, served, "frontdesk@demo.medspa.example")
    page.goto(f"{served}/clients/")
    page.get_by_role("link", name="New client").click()
    page.get_by_label("First name").fill("Walk")
    page.get_by_label("Last name").fill("In")
    page.get_by_label("Mobile phone").fill("+15085550177")
    page.get_by_role("button", name="Register client").click()
    expect(page.get_by_text("This client may already be registered")).to_be_visible()
    assert_accessible(page)
