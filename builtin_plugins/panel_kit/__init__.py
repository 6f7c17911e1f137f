"""Panel kit: what the Pterodactyl and Pelican plugins share, kept in one place.

Pelican is a fork of Pterodactyl: both panels speak the same HTTP (bearer keys, JSON envelopes,
``{"errors": [...]}`` answers, the same rate-limit headers). Rather than copying the code that
talks to them, both provisioner plugins require this plugin and import its public module,
:mod:`builtin_plugins.panel_kit.api`, and nothing else of it (the import-linter contracts in
``.importlinter`` keep it so). It implements no hook and has no settings or tables: its
server tabs (``tabs/``) become pages only when a panel plugin builds them for itself from a
:class:`~builtin_plugins.panel_kit.tabs.adapter.PanelTabs` and returns the blueprint from its
own hook. It is a plugin so that its code, templates and static files pass the same security
scan as theirs before anything imports or serves them, and so that enabling a panel plugin
enables it first (``[requires]``).
"""
