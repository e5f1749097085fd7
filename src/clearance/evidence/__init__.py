"""Evidence of a decision: read checks.json and the reports it was made on, then leave a trail.

`clearance.evidence.publish.after_decision` is the single entry point the approval pipeline's
Update step and `make demo` call after a decision is in the registry. It writes a SageMaker Model
Card for the package (create or update) and one self-contained HTML page. Everything here is
*display* of a decision already taken: parsing is lenient where the decision logic is strict, so a
malformed report shows up as a stated problem in the card and the page, never as a crash and never
as a number that was not in the report.

Data flow::

    checks.json ──parse_checks──► ChecksView ─┐
    reports (S3 / dir) ──parse_reports──► Evidence ─┼─► modelcard.build_content ─► model card
    describe_model_package ──► PackageInfo ───┘    └─► report_html.render ─► <out>/<card>.html
"""
