"""``make demo``: the whole clearance flow end to end on one machine, no AWS account.

    python -m clearance_dev.demo [--out build/demo] [--biased-bias 0.5] [--json] [--baked DIR]
    python -m clearance_dev.demo --llm          (make demo-llm: the LLM variant, see run_llm)

What it does, in the order a real account sees it:

 1. starts a local AWS stand-in (moto's server on 127.0.0.1, a free port; stopped on exit);
 2. bakes the default team project with cookiecutter's Python API into OUT/bake;
 3. runs the baked repo's ``make local`` twice, in parallel: a fair model (BIAS=0.0) and one trained
    on data with injected group bias (BIAS=--biased-bias);
 4. creates the governance and team buckets (encrypted, public access blocked), uploads the
    approval code bundle and the default policy, and creates the approval pipeline from the
    SageMaker SDK v3 definition (clearance.pipeline.definition, rendered offline);
 5. uploads each build's reports and model.tar.gz to the team bucket and registers both versions as
    PendingManualApproval with ModelMetrics (with ContentDigest) and team:* metadata;
 6. emits each registration's "SageMaker Model Package State Change" event on the stand-in's
    EventBridge, where a rule with the shared pattern (clearance/patterns) routes it to a queue the
    demo drains into the start-approval handler, which starts the approval pipeline;
 7. runs every started execution's two steps locally exactly as SageMaker would: the definition's
    entrypoint and arguments, its S3 inputs downloaded to local stand-ins of /opt/ml/processing,
    the code from the uploaded clearance.zip on PYTHONPATH, outputs uploaded back;
 8. reads both packages back with describe_model_package: one Approved, one Rejected with its
    failed checks; writes OUT/decisions.json and OUT/<version>/checks.json.

The stages are modules of this package (bake, build, definition, register, events, runner), called
in order by :func:`clearance_dev.demo.flow.run`; a new stage is one module and one call there.

The Update step calls the evidence hook (clearance.pipeline.steps.after_decision ->
clearance.evidence.publish), so
model cards and HTML reports appear under OUT/<version>/evidence/ when that module is shipped.
moto's pipeline executions do not run anything (they are "Succeeded" at once), which is why step 7
plays the SageMaker part; see LocalPipelineRunner.
"""
