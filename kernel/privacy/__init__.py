"""Customers' privacy rights over everything pteroca keeps about them.

- :mod:`.export` (right of access): a job gathers the kernel's data and every plugin's
  ``personal_data(user)`` into a ZIP and mails a signed, expiring link to it.
- :mod:`.erasure` (right to erasure): a request scheduled after a grace period; every plugin's
  ``erase_personal_data(user)``, then the kernel anonymises the account, keeping the ledger and
  payments the law requires under a pseudonymous address.
- :mod:`.retention`: how long the audit and email logs keep entries, and the task pruning them.

docs/privacy.md describes them for admins, customers and plugin authors.
"""
