"""Decide: parse and select report values (:mod:`.reports`), evaluate a policy into a decision
(:mod:`.checks`). Pure: no AWS calls.
"""
