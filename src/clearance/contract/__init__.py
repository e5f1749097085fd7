"""The bottom layer: every value two parts of Clearance (or a team repo and Clearance) agree on.

One home per contract; nothing here imports another clearance package.

- :mod:`.reports`   report kinds, ModelMetrics slots, the baked repo's report files, size limit
- :mod:`.checks`    checks.json: the one model, parser and writer
- :mod:`.metadata`  ``team:*`` and ``clearance:*`` CustomerMetadataProperties keys + sanitiser
- :mod:`.status`    model package approval statuses
- :mod:`.arns`      the model package ARN pattern
- :mod:`.errors`    ClearanceError(field, problem, fix) -> ``ERROR: <field>: <problem>. <fix>``
- :mod:`.exitcodes` exit codes of every command and pipeline step
- :mod:`.fmt`       number and bounds formatting
"""
