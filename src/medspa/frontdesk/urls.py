from django.urls import path

from medspa.frontdesk import (
    appointments,
    audit_pages,
    booking,
    card_pages,
    chart_pages,
    checkout_pages,
    client_pages,
    close_pages,
    consent_pages,
    daysheet,
    identity_pages,
    intake_pages,
    ledger_pages,
    manage,
    plan_pages,
    promotion_pages,
    refund_pages,
    security,
    views,
)

app_name = "frontdesk"
urlpatterns = [
    path("", views.start, name="start"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/events", views.events, name="events"),
    # Each page module owns its routes; all of them live under the "frontdesk" namespace.
    *booking.urlpatterns,
    *appointments.urlpatterns,
    *daysheet.urlpatterns,
    *manage.urlpatterns,
    *security.urlpatterns,
    *client_pages.urlpatterns,
    *chart_pages.urlpatterns,
    *audit_pages.urlpatterns,
    *ledger_pages.urlpatterns,
    *checkout_pages.urlpatterns,
    *plan_pages.urlpatterns,
    *refund_pages.urlpatterns,
    *close_pages.urlpatterns,
    *identity_pages.urlpatterns,
    *intake_pages.urlpatterns,
    *consent_pages.urlpatterns,
    *promotion_pages.urlpatterns,
    *card_pages.urlpatterns,
]
