"""Deploy gate and endpoint checks (issue 13): only an Approved package, with its evidence, deploys.

Runtime code: what the team's deploy pipeline (CodeBuild) runs before CloudFormation creates or
updates an endpoint. ``gate`` decides whether a model package may be deployed at all;
``endpoint_checks`` judges a running (staging) endpoint against the ``endpoint`` policy section.
It sits above ``evidence`` and ``pipeline`` and below ``cli`` in the layers.
"""
