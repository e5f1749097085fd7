"""The LLM side of the clearance: `clearance.llm.demo` runs `make demo-llm` (the evaluation code
itself lives in the team template, pipelines/<module>/llm/, where the team's pipeline runs it)."""
