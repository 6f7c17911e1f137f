"""Words for the store's audit entries (the kernel's ``audit_labels`` hook)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS = {
    "store.purchase": _l("Server bought"),
    "store.provisioned": _l("Server created"),
    "store.installed": _l("Server installed"),
    "store.provisioning_failed": _l("Server could not be created"),
    "store.retry": _l("Server creation retried"),
    "store.renamed": _l("Server renamed"),
    "store.expiry_changed": _l("Server expiry changed"),
    "store.package_changed": _l("Server plan changed"),
    "store.suspended": _l("Server suspended"),
    "store.unsuspended": _l("Server unsuspended"),
    "store.suspension_taken_over": _l("Suspension taken over by staff"),
    "store.reinstalling": _l("Server reinstalling"),
    "store.deleted": _l("Server deleted"),
    "store.sync_accepted": _l("Panel change accepted"),
    "store.sync_retry": _l("Panel change retried"),
    "store.voucher_overused": _l("Voucher used more often than allowed"),
    "store.product_created": _l("Product created"),
    "store.product_copied": _l("Product copied"),
    "store.product_deleted": _l("Product deleted"),
    "store.plan_added": _l("Price plan added"),
    "store.plan_deleted": _l("Price plan deleted"),
}
