"""The governance approval pipeline: its definition (:mod:`.definition`, SageMaker SDK v3, rendered
offline) and the two processing steps it runs (:mod:`.steps`: evaluate, update).
"""
