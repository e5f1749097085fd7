"""HELM-style evaluation of a language model before approval: memorization, disinformation, BBQ
and BOLD, behind one small model interface. See runner.py for the entry point and report.py for the
report the approval policy reads."""
