"""What is done to a plugin: installed, scanned and admitted, loaded, enabled, blocked, removed.

Above the scan gate (:mod:`kernel.security`) and the hook caller (:mod:`kernel.hooks`), both
of which it drives; below them sits :mod:`kernel.plugins`, what a plugin is (found, described,
recorded, verified), which the gate and the hook caller read.
"""
