"""SageMaker model-build pipelines and the local run of the same steps."""
