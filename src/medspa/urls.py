from django.contrib import admin
from django.urls import include, path

from medspa.api import api
from medspa.core import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("", include("medspa.frontdesk.urls")),
]
