-- Every subscriber with its contact and e-invoice data, by id.
select subscriber_id, name, country, address, vat_id, email, street, city, postcode,
       company_id, peppol_id, buyer_reference
from subscribers
order by subscriber_id
