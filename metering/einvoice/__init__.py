"""E-invoices: Peppol BIS Billing 3.0 UBL documents of specifications (`ubl`), the
seller configuration (`seller`) and identifier check digits (`identifiers`)."""
