"""The Pelican mode of the simulators package, against docs/reference/pelican_api.md."""
