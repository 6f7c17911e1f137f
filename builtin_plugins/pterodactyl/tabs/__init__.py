"""The customers' server tabs: console, power and usage, startup variables, backups,
databases, network, subusers, schedules, reinstall and activity.

``views.bp`` is the blueprint, ``views.tabs_for`` answers the store's ``server_tabs``
hook; ``access`` holds the authorisation rules, ``actions`` what every tab action shares,
and one module per tab (``console``, ``startup``, ``backups``, ``databases``, ``network``,
``subusers``, ``schedules``, ``reinstall``, ``activity``) what that tab does.
"""
