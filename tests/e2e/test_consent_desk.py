"""Consents in a browser: a manager writes and publishes a consent for a laser service; the
desk sees "Needs signature" on the appointment panel with a "Sign on this tablet" button,
then "Signed" with a PDF once the client signs. axe finds no serious problem on any page."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.e2e.conftest import run_in_demo
from tests.e2e.test_front_desk import LASER_LARGE, assert_accessible, shot, sign_in

CONSENT = "Laser check: laser hair removal consent"

# A booking on the large-area laser service with a new client, far from the demo's visits.
BOOK = f"""
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo
from medspa.catalog.models import Service
from medspa.clients.models import Client
from medspa.core.errors import DomainError
from medspa.scheduling.selectors import Wanted
from medspa.scheduling.services import book_appointment

laser = Service.objects.get(name={LASER_LARGE!r})
org = laser.organization
client = Client.objects.create(organization=org, first_name="Priya", last_name="Shah",
    email="priya.shah@example.com", phone="+16175550142")
zone = ZoneInfo("America/New_York")
booked = None
for days in range(60, 90):
    for hour in (10, 13, 15):
        day = (datetime.now(tz=zone) + timedelta(days=days)).date()
        for location in org.locations.all():
            try:
                booked = book_appointment(organization=org, actor=None, client=client,
                    location=location, start=datetime.combine(day, time(hour), tzinfo=zone),
                    wanted=[Wanted(laser)])
                break
            except DomainError:
                continue
        if booked: break
    if booked: break
print(json.dumps({{"appointment": booked.pk}}))
"""

# The client signs on the visit page; here through the same service the page calls.
SIGN = """
import base64, io
from PIL import Image, ImageDraw
from medspa.clinical.consent import consent_text_sha256, consents_for_appointment, sign_consent
from medspa.scheduling.models import Appointment
appointment = Appointment.objects.get(pk={pk})
[need] = [n for n in consents_for_appointment(appointment) if n.template.name == {name!r}]
image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
ImageDraw.Draw(image).line([(10, 80), (80, 20), (150, 70), (280, 30)], fill="black", width=3)
out = io.BytesIO(); image.save(out, format="PNG")
sign_consent(appointment=appointment, version=need.version, typed_name="Priya Shah",
    signature_image="data:image/png;base64," + base64.b64encode(out.getvalue()).decode(),
    text_sha256=consent_text_sha256(need.version), ip_address="203.0.113.9",
    user_agent="Mozilla/5.0 (iPad)")
print("signed")
"""


def test_a_manager_publishes_a_consent_and_the_desk_sees_it_signed(
    page: Page, served: str, demo_env: dict[str, str]
) -> None:
    appointment = json.loads(run_in_demo(demo_env, BOOK))["appointment"]

    sign_in(page, served, "manager@demo.medspa.example")
    page.goto(f"{served}/consents/")
    expect(page.get_by_role("heading", name="Consents", exact=True)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name").fill(CONSENT)
    page.get_by_label("A signature counts for (days)").fill("365")
    page.get_by_label(LASER_LARGE).check()
    page.get_by_role("button", name="Create and write the text").click()

    expect(page.get_by_role("heading", name="Draft: version 1")).to_be_visible()
    page.get_by_label("Title shown to the client").fill("Consent to laser hair removal")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Write the consent text before publishing.")).to_be_visible()
    page.get_by_label("The text the client reads and signs").fill(
        "I agree to laser hair removal on the areas I discussed with my provider.\n\n"
        "I understand that redness and swelling are common for a day or two, and that "
        "I must protect the treated skin from the sun for two weeks.\n\n"
        "Several sessions are usually needed; results vary from person to person."
    )
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_role("status")).to_contain_text("Published")
    page.get_by_role("button", name="Write a new version").click()
    expect(page.get_by_role("heading", name="Draft: version 2")).to_be_visible()
    assert_accessible(page)
    shot(page, "consent-manage.png")

    page.context.clear_cookies()
    sign_in(page, served, "frontdesk@demo.medspa.example")
    page.goto(f"{served}/calendar/appointments/{appointment}/")
    section = page.locator("#visit-consent")
    expect(section).to_contain_text(CONSENT)
    mine = section.locator("li", has_text=CONSENT)
    expect(mine).to_contain_text("Needs signature")
    tablet = section.get_by_role("button", name="Sign on this tablet")
    expect(tablet).to_have_attribute("target", "_blank")
    assert (tablet.get_attribute("href") or "").startswith("/visit/")
    assert_accessible(page)
    section.scroll_into_view_if_needed()
    shot(page, "consent-panel-unsigned.png")

    code = "try:\n" + "".join(
        f"    {line}\n" for line in SIGN.format(pk=appointment, name=CONSENT).splitlines()
    )
    code += "except Exception:\n    import traceback; print(repr(traceback.format_exc()))\n"
    assert run_in_demo(demo_env, code) == "signed"
    page.reload()
    expect(mine).to_contain_text("by Priya Shah")
    pdf_link = mine.get_by_role("link", name="PDF")
    pdf = page.request.get(served + (pdf_link.get_attribute("href") or ""))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    assert_accessible(page)
    section.scroll_into_view_if_needed()
    shot(page, "consent-panel-signed.png")
