"""The store's refusal: one exception whose message is shown to the customer or admin as is."""


class StoreError(ValueError):
    """Why the store refused; the message is shown to the customer or admin as is."""
