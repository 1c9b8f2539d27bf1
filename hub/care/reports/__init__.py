"""The care team's reports (issue 14 item 7): reconciliation, the controlled-substance register,
the dispense log, their CSV files and the FHIR export. The pages are in care/pages/reports.py;
docs/CARE.md, "Reports", says what each number means."""
