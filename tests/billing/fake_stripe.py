"""A local stand-in for Stripe's API: the same HTTP shape, in memory, never the network.

Only the endpoints the adapter uses, answering form-encoded requests with Stripe's JSON
shapes. Test cards as Stripe names them: `pm_card_visa` and `pm_card_mastercard` succeed,
`pm_card_chargeDeclined` is refused with a 402 `card_error`; `pm_card_chargeCustomerFail`
is kept on file (its setup succeeds) and then declined when charged. A repeated `Idempotency-Key`
answers the first response again without doing anything, as Stripe does, so tests can count
what was really done (`fake.done`) apart from every request that arrived (`fake.requests`).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEST_CARDS: dict[str, dict[str, Any]] = {
    "pm_card_visa": {"brand": "visa", "last4": "4242", "declines": False},
    "pm_card_mastercard": {"brand": "mastercard", "last4": "4444", "declines": False},
    "pm_card_chargeDeclined": {"brand": "visa", "last4": "0002", "declines": True},
    "pm_card_chargeCustomerFail": {
        "brand": "visa",
        "last4": "0341",
        "declines": True,
        "attaches": True,
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    },
}


class _Failure(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: `metadata[client]=7` becomes {"metadata": {"client": "7"}}."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = re.fullmatch(r"(\w+)\[(\w*)\]", key)
        if match:
            outer, inner = match.groups()
            if inner.isdigit() or inner == "":
                out.setdefault(outer, []).append(value)
            else:
                out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    replayed: bool


@dataclass
class FakeStripe:
    """The fake's state; `url` is where the adapter's `MEDSPA_STRIPE_API_BASE` points."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    answered: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.objects.clear()
            self.answered.clear()

    @property
    def done(self) -> list[Request]:
        """Requests that changed something (posts that were not idempotent replays)."""
        return [r for r in self.requests if r.method == "POST" and not r.replayed]

    def posts_to(self, path: str) -> list[Request]:
        return [r for r in self.done if r.path == path]

    # --- endpoints ------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts[0] != "v1":
            raise _Failure(404, {"type": "invalid_request_error", "message": "Unknown path."})
        parts = parts[1:]
        match (method, parts):
            case ("POST", ["customers"]):
                return self._save({"id": _id("cus"), "object": "customer", **self._common(params)})
            case ("POST", ["payment_intents"]):
                return self._create_payment_intent(params)
            case ("GET", ["payment_intents", pi]):
                return self._get(pi)
            case ("POST", ["payment_intents", pi, "confirm"]):
                return self._confirm_payment(self._get(pi), params)
            case ("POST", ["payment_intents", pi, "capture"]):
                return self._capture(self._get(pi), params)
            case ("POST", ["setup_intents"]):
                return self._create_setup_intent(params)
            case ("GET", ["setup_intents", si]):
                return self._get(si)
            case ("POST", ["setup_intents", si, "confirm"]):
                return self._confirm_setup(self._get(si), params)
            case ("GET", ["payment_methods", pm]):
                return self._payment_method(pm)
            case ("POST", ["payment_methods", pm, "detach"]):
                method = self._get(pm)
                method["customer"] = None
                return method
            case ("POST", ["refunds"]):
                return self._refund(params)
        raise _Failure(404, {"type": "invalid_request_error", "message": f"No {method} {path}."})

    def _common(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "metadata": params.get("metadata", {}),
            "livemode": False,
            "created": int(time.time()),
        }

    def _save(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def _get(self, object_id: str) -> dict[str, Any]:
        if object_id not in self.objects:
            raise _Failure(
                404,
                {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"No such object: '{object_id}'",
                },
            )
        return self.objects[object_id]

    def _payment_method(self, pm: str) -> dict[str, Any]:
        if pm in self.objects:
            return self.objects[pm]
        if pm in TEST_CARDS:
            card = TEST_CARDS[pm]
            return {
                "id": pm,
                "object": "payment_method",
                "type": "card",
                "customer": None,
                "card": {
                    "brand": card["brand"],
                    "last4": card["last4"],
                    "exp_month": 12,
                    "exp_year": 2034,
                },
            }
        return self._get(pm)

    def _card_declines(self, pm: str) -> bool:
        return bool(self._test_card(pm).get("declines"))

    def _test_card(self, pm: str) -> dict[str, Any]:
        source = self._payment_method(pm)
        return TEST_CARDS.get(source.get("test_card", pm), {})

    def _create_payment_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = int(params.get("amount", 0))
        if amount < 1:
            raise _Failure(
                400,
                {
                    "type": "invalid_request_error",
                    "param": "amount",
                    "message": "Amount must be at least 1.",
                },
            )
        pi = self._save(
            {
                "id": _id("pi"),
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": 0,
                "currency": params.get("currency", "usd"),
                "customer": params.get("customer"),
                "payment_method": params.get("payment_method"),
                "capture_method": params.get("capture_method", "automatic"),
                "status": "requires_payment_method",
                "latest_charge": None,
                "last_payment_error": None,
                "client_secret": f"pi_secret_{secrets.token_hex(6)}",
                **self._common(params),
            }
        )
        if pi["payment_method"]:
            pi["status"] = "requires_confirmation"
        if _true(params.get("confirm")):
            return self._confirm_payment(pi, params)
        return pi

    def _confirm_payment(self, pi: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        pm = params.get("payment_method") or pi["payment_method"]
        if not pm:
            raise _Failure(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": "You must provide a payment method.",
                },
            )
        method = self._payment_method(pm)
        if method.get("customer") and method["customer"] != pi["customer"]:
            raise _Failure(
                400,
                {
                    "type": "invalid_request_error",
                    "message": "The payment method belongs to another customer.",
                },
            )
        pi["payment_method"] = pm
        if self._card_declines(pm):
            card = self._test_card(pm)
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": card.get("decline_code", "generic_decline"),
                "message": card.get("message", "Your card was declined."),
                "payment_method": method,
            }
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = error
            raise _Failure(402, {**error, "payment_intent": pi})
        pi["latest_charge"] = _id("ch")
        if pi["capture_method"] == "manual":
            pi["status"] = "requires_capture"
            pi["amount_capturable"] = pi["amount"]
        else:
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
        return pi

    def _capture(self, pi: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if pi["status"] != "requires_capture":
            raise _Failure(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": f"This PaymentIntent could not be captured: it is {pi['status']}.",
                },
            )
        amount = int(params.get("amount_to_capture", pi["amount_capturable"]))
        if amount > pi["amount_capturable"]:
            raise _Failure(
                400,
                {
                    "type": "invalid_request_error",
                    "param": "amount_to_capture",
                    "message": "Amount to capture is larger than the amount capturable.",
                },
            )
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return pi

    def _create_setup_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        si = self._save(
            {
                "id": _id("seti"),
                "object": "setup_intent",
                "customer": params.get("customer"),
                "payment_method": None,
                "usage": params.get("usage", "off_session"),
                "status": "requires_payment_method",
                "client_secret": f"seti_secret_{secrets.token_hex(6)}",
                **self._common(params),
            }
        )
        if params.get("payment_method") and _true(params.get("confirm")):
            return self._confirm_setup(si, params)
        return si

    def _confirm_setup(self, si: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """What Stripe.js does in the client's hands: the card is attached to the customer."""
        test_card = params.get("payment_method", "")
        if test_card not in TEST_CARDS:
            raise _Failure(400, {"type": "invalid_request_error", "message": "Unknown card."})
        if TEST_CARDS[test_card]["declines"] and not TEST_CARDS[test_card].get("attaches"):
            raise _Failure(
                402,
                {
                    "type": "card_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                    "setup_intent": si,
                },
            )
        saved = self._payment_method(test_card) | {
            "id": _id("pm"),
            "customer": si["customer"],
            "test_card": test_card,
        }
        self._save(saved)
        si.update(status="succeeded", payment_method=saved["id"])
        return si

    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        pi = self._get(params.get("payment_intent", ""))
        refunded = sum(
            o["amount"]
            for o in self.objects.values()
            if o["object"] == "refund" and o["payment_intent"] == pi["id"]
        )
        amount = int(params.get("amount", pi["amount_received"] - refunded))
        if pi["status"] != "succeeded" or amount + refunded > pi["amount_received"]:
            raise _Failure(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded"
                    if refunded >= pi["amount_received"]
                    else "amount_too_large",
                    "param": "amount",
                    "message": "Refund amount is greater than the unrefunded amount.",
                },
            )
        return self._save(
            {
                "id": _id("re"),
                "object": "refund",
                "amount": amount,
                "currency": pi["currency"],
                "payment_intent": pi["id"],
                "charge": pi["latest_charge"],
                "status": "succeeded",
                **self._common(params),
            }
        )

    # --- the server ------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: str, key: str | None) -> tuple[int, bytes]:
        path = urlsplit(path).path
        params = _form(body)
        with self.lock:
            if key and key in self.answered:
                self.requests.append(Request(method, path, params, key, replayed=True))
                status, payload = self.answered[key]
                return status, json.dumps(payload).encode()
            self.requests.append(Request(method, path, params, key, replayed=False))
            try:
                status, payload = 200, self.handle(method, path, params)
            except _Failure as failure:
                status, payload = failure.status, {"error": failure.error}
            if key and method == "POST":
                # Stripe stores the response, failures included, and plays it back.
                self.answered[key] = (status, json.loads(json.dumps(payload)))
            return status, json.dumps(payload).encode()

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if method == "GET":
                    body = urlsplit(self.path).query
                status, payload = fake.answer(
                    method, self.path, body, self.headers.get("Idempotency-Key")
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", _id("req"))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows what matters

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


_shared: FakeStripe | None = None


def shared_fake() -> FakeStripe:
    """One fake per test session, on a free port of 127.0.0.1."""
    global _shared
    if _shared is None:
        _shared = FakeStripe().start()
    return _shared
