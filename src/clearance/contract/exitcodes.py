"""Exit codes: the same table for every ``clearance`` command and both approval pipeline steps.

====  ===========================================================================
0     ok: done, or Approved (a step that recorded a rejection also exits 0)
1     Rejected (``clearance check`` / ``evaluate`` / ``approve``)
2     usage, policy or input error: one ``ERROR: <field>: <problem>. <fix>`` line, nothing written
3     an AWS call failed: nothing decided
====  ===========================================================================
"""

from __future__ import annotations

OK = 0
APPROVED = 0
REJECTED = 1
USAGE = 2
AWS = 3
