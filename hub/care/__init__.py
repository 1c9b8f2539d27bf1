"""The care team's web app (issue 14): sign-in, roles per site, audit, the pages. docs/CARE.md."""
