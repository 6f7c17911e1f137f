"""The customers' server tabs: console, power and usage, startup variables, backups,
databases, network, subusers, schedules, reinstall and activity.

``views.bp`` is the blueprint, ``views.tabs_for`` answers the store's ``server_tabs``
hook; ``access`` holds the authorisation rules and ``services`` what each tab does.
"""
