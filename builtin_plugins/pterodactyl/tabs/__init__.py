"""The customers' server tabs of Pterodactyl servers, built by the panel kit.

The tabs themselves (console, startup, backups, databases, network, users, schedules,
reinstall, activity) live in ``builtin_plugins/panel_kit/tabs``; :mod:`.adapter` binds them
to this plugin (its panel client, links, subuser table :mod:`.models`, messages and
product settings) and keeps the URLs, endpoint names and audit actions they always had.
"""
