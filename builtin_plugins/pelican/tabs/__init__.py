"""The customers' server tabs of Pelican servers, built by the panel kit.

The tabs themselves (console, startup, backups, databases, network, users, schedules,
reinstall, activity) live in ``builtin_plugins/panel_kit/tabs``; :mod:`.adapter` binds them
to this plugin: its panel client, links, subuser table (``pelican_subuser``), messages,
product settings and Pelican's differences from Pterodactyl (docs/reference/pelican_api.md
§4.4, §8, §10.14-16).
"""
