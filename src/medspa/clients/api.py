"""Clients: the API routes of the clients app."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.params.functions import Query

from medspa.clients.models import Client
from medspa.clients.selectors import clients_for, likely_duplicates, search_clients
from medspa.clients.services import create_client
from medspa.core.selectors import get_owned
from medspa.core.web import ListOut, Name, staff

router = Router(tags=["clients"])


class ClientIn(Schema):
    first_name: Name
    last_name: Name
    phone: Name = ""
    email: Name = ""
    birth_date: date | None = None


class ClientOut(Schema):
    id: int
    first_name: str
    last_name: str
    phone: str
    email: str
    birth_date: date | None


class ClientCreatedOut(ClientOut):
    possible_duplicates: list[int]


@router.get("/clients", response=ListOut[ClientOut])
def list_clients(
    request: HttpRequest,
    q: Name = "",
    limit: Annotated[int, Query(50, ge=1, le=500)] = 50,
    offset: Annotated[int, Query(0, ge=0)] = 0,
) -> dict[str, object]:
    who = staff(request, "clients.view")
    qs = search_clients(who.organization, q) if q.strip() else clients_for(who.organization)
    return {"items": list(qs[offset : offset + limit]), "count": qs.count()}


@router.post("/clients", response={201: ClientCreatedOut})
def post_client(request: HttpRequest, payload: ClientIn) -> Status[dict[str, object]]:
    who = staff(request, "clients.create")
    client = create_client(organization=who.organization, actor=who.user, **payload.dict())
    duplicates = likely_duplicates(
        who.organization,
        first_name=client.first_name,
        last_name=client.last_name,
        phone=client.phone,
        email=client.email,
        birth_date=client.birth_date,
        exclude_id=client.pk,
    ).values_list("pk", flat=True)
    body = {**ClientOut.from_orm(client).dict(), "possible_duplicates": list(duplicates)}
    return Status(201, body)


@router.get("/clients/{client_id}", response=ClientOut)
def get_client(request: HttpRequest, client_id: int) -> Client:
    who = staff(request, "clients.view")
    return get_owned(Client, organization=who.organization, pk=client_id, field="client_id")
