"""Services: the decisions of care, surveys and cases, as plain functions over a unit of work."""
