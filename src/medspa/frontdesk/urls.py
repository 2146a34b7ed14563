from django.urls import path

from medspa.frontdesk import views

app_name = "frontdesk"
urlpatterns = [
    path("", views.start, name="start"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/events", views.events, name="events"),
]
