-- The months the warehouse holds issued documents of, with the manifest they came from.
select month, manifest_sha256 from issued_months
