"""Deploy gate and endpoint checks (issue 13): only an Approved package, with its evidence, deploys.

Empty for now; it sits above ``evidence`` and ``pipeline`` and below ``cli`` in the layers.
"""
