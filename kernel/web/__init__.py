"""Client-area shell: landing, login, dashboard, menus, template slots, health."""
