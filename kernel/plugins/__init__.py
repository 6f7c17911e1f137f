"""What a plugin is: found without import, its manifest, files, states, dependencies and records.

Also the verified loader (its code imports only from scanned bytes), its settings, its health
and the app's plugin host. The scan gate and the hook caller build on this package; what is
done to a plugin (admission, loading, enabling, upload) is :mod:`kernel.plugin_lifecycle`.
"""
