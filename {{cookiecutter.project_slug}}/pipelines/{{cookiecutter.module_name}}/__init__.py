"""This model's pipeline definition, processing scripts and data schema."""
