"""PayPal Orders v2 objects <-> pteroca's normalised checkout results (no HTTP here)."""

from __future__ import annotations

import re
from typing import Any

from kernel import (
    EXPIRED,
    FAILED,
    OPEN,
    PAID,
    MoneyError,
    SessionStatus,
    from_decimal_string,
    to_decimal_string,
)

REFERENCE_PREFIX = "pteroca-"  # purchase unit reference_id of orders this plugin created
PAID_CAPTURES = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
DECLINED_REASON = (
    "PayPal declined the payment method; nothing was charged. "
    "Please try again with another card or funding source."
)
_ORDER_HREF = re.compile(r"/v2/checkout/orders/([^/?#]+)")
_CAPTURE_HREF = re.compile(r"/v2/payments/captures/([^/?#]+)")


class OrderDataError(ValueError):
    """A PayPal object without the fields this plugin relies on."""


def order_request(
    *,
    payment_id: int,
    amount: int,
    currency: str,
    success_url: str,
    cancel_url: str,
    description: str,
) -> dict[str, Any]:
    """The ``POST /v2/checkout/orders`` body for a top-up (intent CAPTURE, one purchase unit)."""
    return {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": f"{REFERENCE_PREFIX}{payment_id}",
                "custom_id": str(payment_id),
                "description": description[:127],
                "amount": {
                    "currency_code": currency.upper(),
                    "value": to_decimal_string(amount, currency),
                },
            }
        ],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "return_url": success_url,
                    "cancel_url": cancel_url,
                    "user_action": "PAY_NOW",
                    "shipping_preference": "NO_SHIPPING",
                }
            }
        },
    }


def approval_link(order: dict[str, Any]) -> str:
    """Where the buyer approves the order (``payer-action``, or ``approve`` in older answers)."""
    links = {
        link.get("rel"): link.get("href")
        for link in order.get("links") or []
        if isinstance(link, dict)
    }
    href = links.get("payer-action") or links.get("approve")
    if not href:
        raise OrderDataError(f"PayPal order {order.get('id')} came back without an approval link")
    return str(href)


def money_of(obj: dict[str, Any]) -> tuple[int, str]:
    """``{"amount": {"currency_code", "value"}}`` -> (minor units, currency)."""
    amount = obj.get("amount") if isinstance(obj.get("amount"), dict) else {}
    currency = str(amount.get("currency_code") or "")
    try:
        return from_decimal_string(str(amount.get("value", "")), currency), currency.upper()
    except MoneyError as exc:
        raise OrderDataError(f"PayPal sent an amount that cannot be read: {exc}") from None


def purchase_unit(order: dict[str, Any]) -> dict[str, Any]:
    units = order.get("purchase_units") or [{}]
    return units[0] if isinstance(units[0], dict) else {}


def captures(order: dict[str, Any]) -> list[dict[str, Any]]:
    payments = purchase_unit(order).get("payments") or {}
    return [c for c in payments.get("captures") or [] if isinstance(c, dict)]


def paid_capture(order: dict[str, Any]) -> dict[str, Any] | None:
    """The capture that took the money, if any."""
    return next((c for c in captures(order) if c.get("status") in PAID_CAPTURES), None)


def is_ours(order: dict[str, Any]) -> bool:
    return str(purchase_unit(order).get("reference_id") or "").startswith(REFERENCE_PREFIX)


def status_of(order: dict[str, Any]) -> SessionStatus:
    """The normalised status of an order as PayPal reports it (after any capture attempt)."""
    state = order.get("status")
    if state == "COMPLETED":
        found = captures(order)
        capture = paid_capture(order)
        if capture is not None:
            return SessionStatus(PAID, *money_of(capture))
        if not found:
            return SessionStatus(PAID, *money_of(purchase_unit(order)))
        last = found[-1]
        if last.get("status") == "PENDING":
            why = (last.get("status_details") or {}).get("reason") or "under review"
            return SessionStatus(OPEN, reason=f"PayPal is holding the payment ({why})")
        return SessionStatus(FAILED, reason=DECLINED_REASON)
    if state == "VOIDED":
        return SessionStatus(EXPIRED, reason="PayPal voided the order; nothing was charged.")
    return SessionStatus(OPEN)  # CREATED, SAVED, PAYER_ACTION_REQUIRED, APPROVED


def related_order_id(resource: dict[str, Any]) -> str | None:
    """The order a capture or refund belongs to, from supplementary data or an ``up`` link."""
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    if related.get("order_id"):
        return str(related["order_id"])
    for link in resource.get("links") or []:
        match = _ORDER_HREF.search(str((link or {}).get("href", "")))
        if match and link.get("rel") == "up":
            return match.group(1)
    return None


def related_capture_id(refund: dict[str, Any]) -> str | None:
    """The capture a refund belongs to, from supplementary data or its ``up`` link."""
    related = (refund.get("supplementary_data") or {}).get("related_ids") or {}
    if related.get("capture_id"):
        return str(related["capture_id"])
    for link in refund.get("links") or []:
        match = _CAPTURE_HREF.search(str((link or {}).get("href", "")))
        if match and link.get("rel") == "up":
            return match.group(1)
    return None
