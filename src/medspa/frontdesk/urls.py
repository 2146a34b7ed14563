from django.urls import path

from medspa.frontdesk import (
    appointments,
    audit_pages,
    booking,
    chart_pages,
    checkout_pages,
    client_pages,
    consent_pages,
    daysheet,
    deposit_pages,
    intake_pages,
    ledger_pages,
    manage,
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
    *intake_pages.urlpatterns,
    *consent_pages.urlpatterns,
    *deposit_pages.urlpatterns,
]
