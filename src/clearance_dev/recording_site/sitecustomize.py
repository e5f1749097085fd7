"""Put this directory first on a subprocess's PYTHONPATH to record its AWS requests.

With ``CLEARANCE_RECORD_CALLS`` (a JSON-lines file) set, every botocore session the process
creates gets :class:`clearance_dev.requests.Recorder`'s hook, attributed to
``CLEARANCE_RECORD_PRINCIPAL``. Dev tooling only: the shipped code never imports this.
"""

from __future__ import annotations

import os

if os.environ.get("CLEARANCE_RECORD_CALLS"):
    import botocore.session

    from clearance_dev.requests import Recorder

    _found = Recorder.from_environment()
    _original = botocore.session.Session.__init__

    def _init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        _original(self, *args, **kwargs)
        if _found is not None:
            recorder, principal = _found
            recorder.attach(self, principal)

    botocore.session.Session.__init__ = _init  # type: ignore[method-assign]
