"""The store's own hooks: provisioners drive servers; other plugins react or veto."""

from kernel import hookspec


@hookspec
def register_provisioners():
    """Return provisioner objects (see builtin_plugins/store/provisioning.py) that create and manage servers."""


@hookspec
def server_tabs(service, user):
    """Return tabs ``{"id", "label", "url", "order"?}`` for a server's page."""


@hookspec
def server_actions(service, user):
    """Return buttons ``{"label", "url", "order"?, "icon"?}`` for the header of a server's page."""


@hookspec
def server_nodes(services):
    """Return ``{service_id: node_id}`` (node ids as strings) for the servers you place."""


@hookspec
def known_nodes():
    """Return the nodes servers run on, ``[{"id", "label"}]``, for pickers such as audiences."""


@hookspec
def server_purchased(service):
    """Event: a server was bought and provisioned."""


@hookspec
def server_renewed(service):
    """Event: a server's period was paid and its expiry moved."""


@hookspec
def server_billed(service, entry):
    """Event: the wallet paid for ``service`` (``entry.amount`` < 0: purchase, renewal, upgrade) or was paid back for it (> 0: refund, reversal, downgrade); ``entry`` is the committed ledger movement."""


@hookspec
def server_suspended(service, reason):
    """Event: a server was suspended (``reason``: expired or staff)."""


@hookspec
def server_unsuspended(service):
    """Event: a server was unsuspended."""


@hookspec
def server_deleted(service):
    """Event: a server was terminated."""


@hookspec
def veto_purchase(user, product, plan):
    """Return a reason string to refuse this purchase, or None."""


@hookspec
def veto_renewal(service, user):
    """Return a reason string to refuse renewing this server, or None."""


@hookspec
def veto_deletion(service):
    """Return a reason string to keep this server from being deleted, or None."""
