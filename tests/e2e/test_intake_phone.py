"""A client prepares for a visit on a phone: the desk sends the link, the client fills the
intake form (one answer flagged) and signs the consent; a provider clears the review.
axe finds no serious problem on any portal page or on the Reviews page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import run_in_demo
from tests.e2e.test_front_desk import assert_accessible, shot, sign_in

FORM = "Phone check: neurotoxin screening"
CONSENT = "Phone check: neurotoxin consent"

# Django shell code run in the served demo: a form with a review rule and a consent, both
# on the one-area neurotoxin, and a booking with Jenna Park (the provider sign-in). The mail
# backend is broken on purpose while booking, so the link stays unsent and the desk sends it.
SETUP = f"""
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo
from django.conf import settings
from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.clinical import consent, services
from medspa.core.errors import DomainError
from medspa.scheduling.models import Resource
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment

tox = Service.objects.get(name="Neurotoxin \\u2013 one area")
org = tox.organization
form = services.create_template(organization=org, actor=None, name={FORM!r},
    description="A few questions so your provider can treat you safely.", service_ids=[tox.pk])
draft = form.versions.get()
for q in (
    dict(key="pregnant", label="Are you pregnant or breastfeeding?", kind="yes_no", required=True,
         review_when={{"equals": True}}, review_reason="Pregnancy or breastfeeding: no neurotoxin"),
    dict(key="medications", label="Do you take any of these?", kind="multiple_choice",
         choices=["Warfarin or another blood thinner", "Aspirin", "Isotretinoin (last 6 months)"],
         review_when={{"any_of": ["Warfarin or another blood thinner"]}},
         review_reason="Blood thinner: bruising risk"),
    dict(key="last_treatment", label="When was your last neurotoxin treatment?", kind="date",
         help_text="Leave empty if this is your first."),
    dict(key="notes", label="Anything else we should know?", kind="text"),
):
    services.add_question(organization=org, actor=None, version=draft, **q)
services.publish_version(organization=org, actor=None, version=draft)
ct = consent.create_template(organization=org, actor=None, name={CONSENT!r},
    service_ids=[tox.pk], title="Consent to neurotoxin treatment",
    body="I agree to be treated with botulinum toxin type A by a licensed provider.\\n\\n"
         "I understand that bruising, headache and, rarely, a drooping eyelid may occur, "
         "and that results last about three to four months.\\n\\n"
         "I have told my provider about my medicines, pregnancy and health conditions.")
consent.publish_version(organization=org, actor=None, version=ct.versions.get())

jenna = Resource.objects.get(organization=org, name="Jenna Park")
client = Client.objects.create(organization=org, first_name="Maya", last_name="Okafor",
    email="maya.okafor@example.com", phone="+16175550199")
settings.EMAIL_BACKEND = "medspa.no_such_module.Backend"
zone = ZoneInfo("America/New_York")
booked = None
for days in range(50, 80):
    for hour in (10, 11, 14, 15):
        day = (datetime.now(tz=zone) + timedelta(days=days)).date()
        for location in org.locations.all():
            try:
                booked = book_appointment(organization=org, actor=None, client=client,
                    location=location, start=datetime.combine(day, time(hour), tzinfo=zone),
                    wanted=[Wanted(tox, jenna)])
                break
            except DomainError:
                continue
        if booked: break
    if booked: break
print(json.dumps({{"appointment": booked.pk}}))
"""


def mailed_link(var: str, to: str) -> str:
    """The path of the visit link in the newest e-mail to this address (file backend)."""
    for message in sorted(Path(var, "mail").glob("*.log"), key=lambda p: p.stat().st_mtime)[::-1]:
        text = message.read_text()
        if f"To: {to}" in text:
            found = re.search(r"https?://[^/\s]+(/visit/[^\s]+/)", text)
            assert found, text
            return found.group(1)
    raise AssertionError(f"No e-mail to {to} under {var}/mail")


def draw_signature(page: Page) -> None:
    canvas = page.locator("canvas.signature-pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box
    x, y = box["x"] + 30, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 13):
        page.mouse.move(x + step * 22, y - (25 if step % 2 else -10), steps=3)
    page.mouse.up()


def test_a_client_fills_the_form_and_signs_on_a_phone(
    served: str, page: Page, browser: Browser, demo_env: dict[str, str]
) -> None:
    appointment = json.loads(run_in_demo(demo_env, SETUP))["appointment"]

    # The desk sends the link from the appointment panel (the booking's own e-mail failed).
    sign_in(page, served, "frontdesk@demo.medspa.example")
    page.goto(f"{served}/calendar/appointments/{appointment}/")
    intake = page.locator("#visit-intake")
    expect(intake).to_contain_text("link not sent yet")
    intake.get_by_role("button", name="Send link").click()
    expect(intake).to_contain_text("Link sent to maya.okafor@example.com")
    assert_accessible(page)
    link = mailed_link(demo_env["MEDSPA_VAR"], "maya.okafor@example.com")

    # On the client's phone.
    phone_context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    phone = phone_context.new_page()
    phone.goto(served + link)
    expect(phone.get_by_role("heading", name="Prepare for your visit")).to_be_visible()
    expect(phone.get_by_text("steps left")).to_be_visible()
    assert_accessible(phone)

    phone.get_by_role("button", name=f"Fill in: {FORM}").click()
    phone.get_by_role("button", name="Send to the clinic").click()
    expect(phone.get_by_role("alert")).to_contain_text("Please check 1 answer.")
    assert_accessible(phone)
    phone.get_by_role("radio", name="Yes").check()
    phone.get_by_role("checkbox", name="Aspirin").check()
    phone.get_by_label("Anything else we should know?").fill("First time, a little nervous.")
    shot(phone, "intake-phone.png")
    phone.get_by_role("button", name="Send to the clinic").click()
    expect(phone.get_by_text("Thank you, we received it.")).to_be_visible()
    expect(phone.get_by_label(f"{FORM}: received")).to_be_visible()

    phone.get_by_role("button", name="Sign: Consent to neurotoxin treatment").click()
    expect(phone.get_by_text("bruising, headache")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("Your full name").fill("Maya Okafor")
    draw_signature(phone)
    shot(phone, "consent-phone.png")
    phone.get_by_role("button", name="Sign", exact=True).click()
    expect(phone.get_by_label("Consent to neurotoxin treatment: signed")).to_be_visible()
    expect(phone.get_by_label(f"{FORM}: received")).to_be_visible()
    assert_accessible(phone)
    phone_context.close()

    # The provider sees the flagged answer and clears it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, served, "provider@demo.medspa.example")
    page.get_by_role("link", name="Reviews").click()
    row = page.locator(".review-item", has_text="Maya Okafor")
    expect(row).to_contain_text("Pregnancy or breastfeeding: no neurotoxin")
    expect(row).to_contain_text("Your client")
    assert_accessible(page)
    shot(page, "reviews.png")
    row.get_by_role("button", name="Decide").click()
    intake = page.locator("#visit-intake")
    intake.get_by_role("button", name="View answers").click()
    expect(intake).to_contain_text("Needs review: Pregnancy or breastfeeding")
    intake.get_by_role("radio", name="Cleared to treat").check()
    intake.get_by_label("Note (required when not cleared)").fill("Not pregnant; nursing ended.")
    intake.get_by_role("button", name="Record decision").click()
    expect(intake).to_contain_text("Review recorded: Cleared to treat.")
    assert_accessible(page)
    page.goto(f"{served}/reviews/")
    expect(page.locator(".review-item", has_text="Maya Okafor")).to_have_count(0)
