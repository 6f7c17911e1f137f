"""The kernel's own events sent to outgoing webhooks (:mod:`kernel.webhooks`)."""

from __future__ import annotations

from kernel import hookimpl


@hookimpl(trylast=True)
def user_registered(user) -> None:
    from kernel.webhooks.services import emit

    emit(
        "user.created",
        {"user": {"id": user.id, "email": user.email, "name": user.name, "role": user.role_name}},
    )


@hookimpl(trylast=True)
def payment_settled(payment) -> None:
    from kernel.webhooks.services import emit

    emit(
        "payment.settled",
        {
            "payment": {
                "id": payment.id,
                "user_id": payment.user_id,
                "provider": payment.provider,
                "currency": payment.currency,
                "amount_charged": payment.amount_charged,
                "amount_credited": payment.amount_credited,
            }
        },
    )
