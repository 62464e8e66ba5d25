"""Reports: tables, figures and pages built from run results."""
