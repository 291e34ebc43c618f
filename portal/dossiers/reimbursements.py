"""Placeholder: filled by the reimbursement import."""

ROUTES: list = []
