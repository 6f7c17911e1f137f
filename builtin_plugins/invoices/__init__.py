"""invoices: invoices, credit notes and prepayment receipts from payment events, with EU VAT.

The kernel and the store know nothing of invoices: this plugin listens to the kernel's
``payment_settled`` and ``payment_refunded`` and the store's ``server_billed``, and adds the
hooks ``invoice_issued``, ``invoice_lines``, ``tax_rate`` and ``vat_id_check`` for other
plugins (docs/invoices.md).
"""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_hookspecs():
    from . import hookspecs

    return [hookspecs]


@hookimpl
def register_webhook_events():
    return [("invoice.issued", "An invoice or credit note was issued")]


@hookimpl
def register_permissions():
    return [
        ("invoices.view", "See every invoice, download their PDFs and export them"),
        ("invoices.manage", "Change the seller, tax rates and invoicing rules"),
    ]


@hookimpl
def register_blueprints(app):
    from .views import bp

    return [bp]


@hookimpl
def register_admin_views(admin):
    from .admin import DocumentsView, InvoicingView

    return [DocumentsView(), InvoicingView()]


@hookimpl
def template_slots(slot, context):
    from . import topups

    if slot == "wallet_aside":
        return topups.wallet_box(context.get("user"))
    if slot == "wallet_topup_form":
        return topups.topup_note(context.get("user"))
    return None


@hookimpl
def topup_adjustment(user, amount):
    from . import topups

    return topups.adjustment(user, amount)


@hookimpl
def payment_settled(payment):
    from . import pending

    pending.submit(f"payment:{payment.id}", pending.TOPUP, {"payment_id": payment.id})


@hookimpl
def payment_refunded(payment, amount, refund_id, kind):
    from . import drafts, pending

    pending.submit(
        drafts.refund_source(payment.id, str(refund_id)),
        pending.REFUND,
        {
            "payment_id": payment.id,
            "amount": int(amount),
            "refund_id": str(refund_id),
            "kind": str(kind),
        },
    )


@hookimpl
def server_billed(service, entry):
    from . import config, pending

    if config.load().invoice_on != "purchase":
        return  # top-ups are invoiced: a purchase from the wallet is not invoiced again
    pending.submit(
        f"ledger:{entry.id}", pending.SERVICE, {"service_id": service.id, "entry_id": entry.id}
    )


@hookimpl(trylast=True)
def vat_id_check(country, number):
    from . import config, vat

    return vat.vies_check(config.load(), country, number)


@hookimpl
def register_cron_tasks():
    from kernel import CronTask

    from . import tasks

    return [
        CronTask(
            "invoices.retry",
            "*/5 * * * *",
            tasks.retry,
            "Issue documents that wait (a missing tax rate fixed), send unsent ones, "
            "confirm VAT ids the online check could not answer for",
        )
    ]


@hookimpl
def health_checks():
    from . import tasks

    return [("invoicing", tasks.health)]


@hookimpl
def demo_seed(admin, customer):
    from . import tasks

    return tasks.demo_seed()


@hookimpl
def personal_data(user):
    from . import privacy

    return privacy.export(user)


# trylast: a server the store's eraser deletes may give money back; its credit note first
@hookimpl(trylast=True)
def erase_personal_data(user):
    from . import privacy

    privacy.erase(user)
