"""Admin area on Flask-Admin, behind the kernel's permission checks."""
