from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from medspa.api import api
from medspa.billing.webhooks import stripe_webhook
from medspa.core import views

# The admin signs in through allauth too, so its second factor and lockout apply there.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("webhooks/stripe", stripe_webhook, name="stripe-webhook"),
    path("visit/", include("medspa.portal.urls")),
    path("", include("medspa.frontdesk.urls")),
]
