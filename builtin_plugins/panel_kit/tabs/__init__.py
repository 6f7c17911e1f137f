"""The customers' server tabs: console, power and usage, startup variables, backups,
databases, network, subusers, schedules, reinstall and activity, for any panel plugin.

``adapter.PanelTabs`` is what a panel plugin tells the tabs about itself;
``views.tabs_blueprint(adapter)`` builds its blueprint and ``views.tabs_for(adapter, ...)``
answers its ``server_tabs`` hook; ``access`` holds the authorisation rules, ``actions`` what
every tab action shares, and one module per tab (``console``, ``startup``, ``backups``,
``databases``, ``network``, ``subusers``, ``schedules``, ``reinstall``, ``activity``) what that
tab does. Every function takes the viewer's ``Access``, which carries the adapter.
"""
