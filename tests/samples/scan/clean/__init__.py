from kernel import hookimpl

from .views import bp


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def dashboard_widgets(user):
    return [{"title": "Clean", "html": "<p>clean</p>"}]
