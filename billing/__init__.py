"""Money: payment providers now; payments, invoices and credit notes next (issue 12)."""
