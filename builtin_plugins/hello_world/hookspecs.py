"""hello_world's own hook, added through ``register_hookspecs``: other plugins may listen."""

from kernel import hookspec


@hookspec
def hello_world_greeted(greeting):
    """Event: a greeting was added (declare capability ``hello_world_greeted`` to listen)."""
